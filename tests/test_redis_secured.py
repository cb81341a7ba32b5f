"""REDIS_URL forms on real servers: rediss:// (TLS), unix://, and a Sentinel deployment
with passwords and TLS everywhere. The product registers, reads and logs out through each."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask

from tests.helpers import LOGOUT, ME, REGISTER, SQLITE_ONLY, GraphQLClient
from tests.redis_servers import (
    REDIS_SERVER,
    SERVICE,
    RedisProcess,
    Security,
    SentinelGroup,
    redis_process,
    require_binary,
    sentinel_group,
)
from tests.tls import OPENSSL, Certificate, self_signed_certificate

pytestmark = pytest.mark.timeout(90)
DATA_PASSWORD = "data pass/with:odd@chars"
SENTINEL_PASSWORD = "sentinel-secret"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1."""
    require_binary(REDIS_SERVER, "redis-server")
    require_binary(OPENSSL, "openssl")
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def _session_round_trip(app: Flask, server: RedisProcess, db: int = 0) -> None:
    """Register, read, log out; the session record is where the URL said."""
    gql = GraphQLClient(app.test_client())
    assert gql.register()["user"]["username"] == "alice"
    assert gql.me()["username"] == "alice"
    with server.database(db) as stored:
        assert len(list(stored.scan_iter("sess:*"))) == 1
        assert gql(LOGOUT) == {"data": {"logout": True}}
        assert gql.me() is None
        assert list(stored.scan_iter("sess:*")) == []


@SQLITE_ONLY
def test_rediss_url_speaks_tls(
    app_factory: Callable[..., Flask], tmp_path: Path, certificate: Certificate
) -> None:
    security = Security(password=DATA_PASSWORD, tls=certificate)
    with redis_process(tmp_path / "tls", security=security) as server:
        url = f"rediss://:{quote(DATA_PASSWORD, safe='')}@127.0.0.1:{server.port}/0"
        app = app_factory(REDIS_URL=f"{url}?ssl_ca_certs={certificate.cert}")
        _session_round_trip(app, server)
        untrusted = app_factory(REDIS_URL=url)  # the system CAs do not know this certificate
        response = GraphQLClient(untrusted.test_client()).post(
            REGISTER, expect_errors=True, username="bob", password="correct horse"
        )
        assert response.status_code == 503


@SQLITE_ONLY
def test_unix_socket_url(app_factory: Callable[..., Flask], tmp_path: Path) -> None:
    require_binary(REDIS_SERVER, "redis-server")
    socket = tmp_path / "unix" / "redis.sock"
    with redis_process(tmp_path / "unix", [f"unixsocket {socket}", "unixsocketperm 700"]) as server:
        app = app_factory(REDIS_URL=f"unix://{socket}?db=0")
        _session_round_trip(app, server)


@pytest.fixture(scope="module")
def secured_group(
    tmp_path_factory: pytest.TempPathFactory, certificate: Certificate
) -> Iterator[SentinelGroup]:
    """Sentinels and servers that all require a password and speak only TLS."""
    with sentinel_group(
        tmp_path_factory.mktemp("secured-sentinel"),
        data=Security(password=DATA_PASSWORD, tls=certificate),
        sentinel_security=Security(password=SENTINEL_PASSWORD, tls=certificate),
    ) as group:
        yield group


def _secured_url(group: SentinelGroup, cert: Path, sentinel_password: str) -> str:
    nodes = ",".join(f"127.0.0.1:{s.port}" for s in group.sentinels)
    return (
        f"redis+sentinel://:{quote(DATA_PASSWORD, safe='')}@{nodes}/{SERVICE}/3"
        f"?ssl=true&sentinel_ssl=true&ssl_ca_certs={cert}&sentinel_password={sentinel_password}"
    )


@SQLITE_ONLY
def test_sentinel_with_passwords_and_tls(
    app_factory: Callable[..., Flask], secured_group: SentinelGroup, certificate: Certificate
) -> None:
    app = app_factory(REDIS_URL=_secured_url(secured_group, certificate.cert, SENTINEL_PASSWORD))
    _session_round_trip(app, secured_group.primary, db=3)


@SQLITE_ONLY
def test_sentinel_with_a_wrong_sentinel_password_is_a_quick_503(
    app_factory: Callable[..., Flask], secured_group: SentinelGroup, certificate: Certificate
) -> None:
    app = app_factory(REDIS_URL=_secured_url(secured_group, certificate.cert, "wrong"))
    sent = time.monotonic()
    client = app.test_client()
    client.set_cookie("qid", "x" * 43)
    response = client.post("/graphql", json={"query": ME})
    assert time.monotonic() - sent < 3
    assert response.status_code == 503
    assert app.test_client().get("/healthz").get_json()["down"] == ["redis"]
