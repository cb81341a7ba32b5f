"""REDIS_URL parsing: every form gets the same timeouts and bounded retry; bad URLs are refused
with a one-line reason before anything connects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from redis.sentinel import SentinelConnectionPool

from config import ConfigError
from infra.redis_client import check_url, client_options, create_client
from infra.redis_topology import parse_multi_host_url
from tests.processes import gunicorn_refusal

OPTIONS = client_options(socket_timeout=0.5, connect_timeout=0.25, retries=1)


def _bounded(kwargs: dict[str, Any]) -> None:
    assert kwargs["socket_timeout"] == 0.5
    assert kwargs["socket_connect_timeout"] == 0.25
    assert kwargs["retry"].get_retries() == 1


def test_multi_host_url_parts() -> None:
    url = parse_multi_host_url(
        "redis+sentinel://me:p%40ss%3Aw@10.0.0.1:26380,[::1]:26381,sentinel-c/svc/2?ssl=true",
        26379,
    )
    assert url.nodes == (("10.0.0.1", 26380), ("::1", 26381), ("sentinel-c", 26379))
    assert (url.username, url.password) == ("me", "p@ss:w")
    assert url.path == ("svc", "2")
    assert url.query == {"ssl": "true"}


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:1/3", "rediss://127.0.0.1:1/0", "unix:///tmp/nowhere.sock?db=1"]
)
def test_single_server_forms_keep_the_timeouts_and_retry(url: str) -> None:
    client = create_client(url, **OPTIONS)
    _bounded(client.connection_pool.connection_kwargs)


def test_sentinel_form_maps_credentials_tls_and_db() -> None:
    client = create_client(
        "redis+sentinel://app:data-pw@127.0.0.1:1,127.0.0.1:2/svc/4"
        "?ssl=true&ssl_ca_certs=/ca.pem&sentinel_password=s-pw&socket_timeout=0.75",
        **OPTIONS,
    )
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "svc"
    node = pool.connection_kwargs
    assert (node["username"], node["password"], node["db"]) == ("app", "data-pw", 4)
    assert pool.connection_class.__name__ == "SentinelManagedSSLConnection"
    assert node["ssl_ca_certs"] == "/ca.pem"
    assert node["socket_timeout"] == 0.75  # the URL may override the timeouts
    sentinels = pool.sentinel_manager.sentinels
    assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [1, 2]
    for sentinel in sentinels:
        kwargs = sentinel.connection_pool.connection_kwargs
        assert kwargs["password"] == "s-pw"  # the sentinels' own password, not the data one
        assert "ssl_ca_certs" not in kwargs  # sentinel_ssl is off: plain TCP to sentinels
        assert kwargs["retry"].get_retries() == 1


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("memcached://h:1", "REDIS_URL scheme must be one of"),
        ("redis+sentinel://h:1", "must end in /service_name"),
        ("redis+sentinel://h:1/svc/x", "must end in /service_name"),
        ("redis+sentinel://h:1/svc?ssl=maybe", "ssl must be true or false"),
        ("redis+sentinel://h:1/svc?sentinel_pasword=x", "unknown options: sentinel_pasword"),
        ("redis+sentinel://h:1/svc?ssl_ca_certs=/ca.pem", "ssl_\\* options but TLS is off"),
        ("redis+sentinel://h:99999/svc", "is not host:port"),
        ("redis+sentinel:///svc", "lists no host:port"),
        ("redis+sentinel://h:1/svc?socket_timeout=0", "positive number of seconds"),
        ("redis+cluster://h:1/2", "cannot name a database"),
        ("redis+cluster://h:1?sentinel_ssl=true", "unknown options: sentinel_ssl"),
        ("redis+cluster://h:1?ssl=true&ssl_cert_reqs=maybe", "ssl_cert_reqs must be one of"),
    ],
)
def test_refuses_bad_urls(url: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        check_url(url)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match=reason):
        create_client(url, **OPTIONS)


def test_gunicorn_refuses_to_start_with_a_bad_redis_url(tmp_path: Path) -> None:
    code, output = gunicorn_refusal(
        {
            "SECRET_KEY": "s" * 32,
            "REDIS_URL": "redis+sentinel://127.0.0.1:1/svc?sentinel_pasword=typo",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
        }
    )
    assert code != 0
    assert "configuration error: REDIS_URL (redis+sentinel://) has unknown options" in output
    assert "Traceback" not in output
