"""Beyond one machine: two instances sharing Redis and a database, and deploy/nginx.conf
terminating TLS in front of them; once with gunicorn instances, once with Granian.

The instances run in production mode with TRUSTED_PROXIES=1, as deploy/nginx.conf says.
They share a Redis server of this module's own and a database: PostgreSQL when
TEST_DATABASE_URL is set (a throwaway database), else a SQLite file both instances open.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET, _postgres_database
from tests.helpers import LOGIN, LOGOUT, ME, REGISTER
from tests.nginx import NGINX, BrowserClient, Proxy, nginx
from tests.redis_servers import REDIS_SERVER, redis_process, require_binary
from tests.support import SERVERS, HttpClient, Server, app_server, free_port
from tests.tls import OPENSSL, Certificate, self_signed_certificate

pytestmark = pytest.mark.timeout(120)
PASSWORD = "correct horse"
SESSIONS = "{ sessions { id ip current } }"


@pytest.fixture(scope="module", params=SERVERS)
def kind(request: pytest.FixtureRequest) -> str:
    """The server of this round; each round has its own database and Redis."""
    return str(request.param)


@pytest.fixture(scope="module")
def shared_database(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database for both instances: PostgreSQL when TEST_DATABASE_URL is set."""
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        yield from _postgres_database(base)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('shared-db') / 'app.sqlite'}"


@pytest.fixture(scope="module")
def shared_redis(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of the module's own: user ids of its database must not meet other tests' keys."""
    require_binary(REDIS_SERVER, "redis-server")
    with redis_process(tmp_path_factory.mktemp("redis")) as server:
        yield f"redis://127.0.0.1:{server.port}/0"


@pytest.fixture(scope="module")
def instances(
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    shared_redis: str,
    shared_database: str,
) -> Iterator[tuple[Server, Server]]:
    """Two production instances of one server on their own ports, one after the other."""
    root = tmp_path_factory.mktemp("instances")
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": shared_database,
        "REDIS_URL": shared_redis,
        "TRUSTED_PROXIES": "1",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "GRANIAN_BLOCKING_THREADS": "2",
    }
    with ExitStack() as stack:
        servers = [
            stack.enter_context(app_server(kind, {**env, "INSTANCE_PATH": str(root / name)}, root))
            for name in ("a", "b")
        ]
        yield servers[0], servers[1]


def _on(server: Server, cookies: dict[str, str]) -> HttpClient:
    """A client on ``server`` holding a copy of ``cookies`` (the same browser, other instance)."""
    client = HttpClient(server.base_url)
    client.cookies = dict(cookies)
    return client


def _me(client: HttpClient) -> str | None:
    status, body = client.graphql(ME)
    assert status == 200, body
    me = body["data"]["me"]
    return me["username"] if me else None


def test_a_login_through_one_instance_is_honoured_by_the_other(
    instances: tuple[Server, Server],
) -> None:
    a, b = instances
    phone = HttpClient(a.base_url)
    status, body = phone.graphql(REGISTER, username="dana", password=PASSWORD)
    assert status == 200 and body["data"]["register"]["user"]["username"] == "dana"
    laptop, tablet = HttpClient(b.base_url), HttpClient(b.base_url)
    for device in (laptop, tablet):
        assert device.graphql(LOGIN, username="dana", password=PASSWORD)[0] == 200
    for device in (phone, laptop, tablet):
        assert [_me(_on(server, device.cookies)) for server in (a, b)] == ["dana", "dana"]

    assert _on(b, phone.cookies).graphql(LOGOUT)[1] == {"data": {"logout": True}}
    assert [_me(_on(server, phone.cookies)) for server in (a, b)] == [None, None]

    status, body = _on(a, laptop.cookies).graphql("mutation { logoutAll }")
    assert body == {"data": {"logoutAll": 2}}
    for device in (laptop, tablet):
        assert [_me(_on(server, device.cookies)) for server in (a, b)] == [None, None]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1."""
    require_binary(OPENSSL, "openssl")
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def proxy(
    instances: tuple[Server, Server],
    certificate: Certificate,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Proxy]:
    """deploy/nginx.conf in front of the two instances."""
    require_binary(NGINX, "nginx")
    ports = [int(server.base_url.rsplit(":", 1)[1]) for server in instances]
    with nginx(ports, certificate, tmp_path_factory.mktemp("nginx")) as running:
        yield running


def _graphql_posts(server: Server) -> int:
    return server.log().count('"message":"POST /graphql')  # the product's access log


def test_through_nginx_cookies_are_secure_and_the_app_sees_the_client(
    instances: tuple[Server, Server], proxy: Proxy
) -> None:
    before = [_graphql_posts(server) for server in instances]
    browser = BrowserClient(proxy, source="127.0.0.2")
    spoofed = {"X-Forwarded-For": "203.0.113.9"}  # a client's own claim is not believed
    status, headers, body = browser.graphql(
        REGISTER, headers=spoofed, username="erin", password=PASSWORD
    )
    assert status == 200 and body["data"]["register"]["user"]["username"] == "erin"
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("qid=")
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {p.strip() for p in cookie.split(";")}
    assert headers["Strict-Transport-Security"]  # X-Forwarded-Proto: https reached the app

    for _ in range(6):
        status, _, body = browser.graphql(SESSIONS, headers=spoofed)
        assert status == 200
        assert body["data"]["sessions"] == [
            {"id": body["data"]["sessions"][0]["id"], "ip": "127.0.0.2", "current": True}
        ]
    after = [_graphql_posts(server) for server in instances]
    assert all(n > m for n, m in zip(after, before, strict=True)), (before, after)


def test_same_origin_posts_pass_and_cross_site_ones_do_not(proxy: Proxy) -> None:
    browser = BrowserClient(proxy)
    own = {"Origin": f"https://127.0.0.1:{proxy.https_port}"}  # what a browser would send
    status, _, body = browser.graphql(REGISTER, headers=own, username="fay", password=PASSWORD)
    assert status == 200 and body["data"]["register"]["user"]
    status, _, body = browser.graphql(LOGOUT, headers={"Origin": "https://evil.example"})
    assert status == 403
    assert browser.graphql(ME, headers=own)[2]["data"]["me"]["username"] == "fay"


def test_plain_http_is_redirected_to_https(proxy: Proxy) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
    conn.request("GET", "/me")
    response = conn.getresponse()
    assert response.status == 301
    assert response.headers["Location"] == "https://127.0.0.1/me"
    conn.close()


def test_a_dead_instance_is_skipped_even_for_posts(
    instances: tuple[Server, Server], certificate: Certificate, tmp_path: Path
) -> None:
    require_binary(NGINX, "nginx")
    live = int(instances[1].base_url.rsplit(":", 1)[1])
    with nginx([free_port(), live], certificate, tmp_path / "nginx") as half_dead:
        browser = BrowserClient(half_dead)
        status, _, body = browser.graphql(REGISTER, username="gus", password=PASSWORD)
        assert status == 200 and body["data"]["register"]["user"]
        for _ in range(4):
            assert browser.graphql(ME)[2]["data"]["me"]["username"] == "gus"
        assert browser.graphql(LOGOUT)[2] == {"data": {"logout": True}}
