"""Redis topologies beyond one server, named by REDIS_URL: Sentinel and Cluster.

- ``redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db][?options]``:
  the sentinels are asked where the primary of ``service_name`` is; every command goes to
  that primary, and the client follows a failover by asking again.
- ``redis+cluster://[user:password@]host:port[,host:port...][?options]``: the nodes listed
  are startup nodes; the client reads the slot map from them and routes each key.

The user and password in the URL are those of the Redis servers. Options (query parameters):
``ssl`` (TLS to the Redis servers), ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``,
``ssl_cert_reqs`` (``none``, ``optional``, ``required``), ``ssl_check_hostname``,
``socket_timeout``, ``socket_connect_timeout``; Sentinel only: ``sentinel_username``,
``sentinel_password``, ``sentinel_ssl`` (TLS to the sentinels, with the same ``ssl_*`` files).
Anything else is refused, so a typo cannot silently turn TLS or authentication off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel

from config import ConfigError

SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"
SENTINEL_PORT = 26379
REDIS_PORT = 6379
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_CERT_REQS = {"none", "optional", "required"}


@dataclass(frozen=True)
class MultiHostURL:
    """A Redis URL listing one or more ``host:port`` nodes."""

    scheme: str
    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    path: tuple[str, ...]
    query: Mapping[str, str]


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise ConfigError(f"REDIS_URL option {name} must be true or false, got {raw!r}")
    return value in _TRUE


def _cert_reqs(name: str, raw: str) -> str:
    if raw not in _CERT_REQS:
        raise ConfigError(f"REDIS_URL option {name} must be one of {sorted(_CERT_REQS)}")
    return raw


def _positive_seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"REDIS_URL option {name} must be a positive number of seconds")
    return value


def _text(name: str, raw: str) -> str:
    return raw


_SOCKET_OPTIONS: dict[str, Callable[[str, str], Any]] = {
    "socket_timeout": _positive_seconds,
    "socket_connect_timeout": _positive_seconds,
}
_TLS_OPTIONS: dict[str, Callable[[str, str], Any]] = {
    "ssl_ca_certs": _text,
    "ssl_certfile": _text,
    "ssl_keyfile": _text,
    "ssl_cert_reqs": _cert_reqs,
    "ssl_check_hostname": _flag,
}
_CLUSTER_OPTIONS = {"ssl", *_SOCKET_OPTIONS, *_TLS_OPTIONS}
_SENTINEL_OPTIONS = {*_CLUSTER_OPTIONS, "sentinel_username", "sentinel_password", "sentinel_ssl"}


def _node(text: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[ipv6]`` or ``[ipv6]:port``."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or str(default_port)
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, str(default_port)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"REDIS_URL node {text!r} is not host:port")
    return host, int(port)


def parse_multi_host_url(url: str, default_port: int) -> MultiHostURL:
    """Split a ``scheme://[user:password@]host:port[,host:port...]/path?query`` URL."""
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    nodes = tuple(_node(item, default_port) for item in hosts.split(",") if item)
    if not nodes:
        raise ConfigError(f"REDIS_URL ({parts.scheme}://) lists no host:port")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return MultiHostURL(
        scheme=parts.scheme,
        nodes=nodes,
        username=unquote(username) or None,
        password=unquote(password) or None,
        path=tuple(unquote(p) for p in parts.path.split("/") if p),
        query=query,
    )


def _checked_query(url: MultiHostURL, allowed: set[str]) -> dict[str, str]:
    unknown = sorted(set(url.query) - allowed)
    if unknown:
        raise ConfigError(f"REDIS_URL ({url.scheme}://) has unknown options: {', '.join(unknown)}")
    return dict(url.query)


def _converted(query: Mapping[str, str], parsers: Mapping[str, Callable[[str, str], Any]]) -> Any:
    return {name: parsers[name](name, raw) for name, raw in query.items() if name in parsers}


def _credentials(username: str | None, password: str | None) -> dict[str, str]:
    found = {"username": username, "password": password}
    return {name: value for name, value in found.items() if value}


def _tls(query: Mapping[str, str], enabled: bool) -> dict[str, Any]:
    """``ssl=True`` and the certificate options, or nothing when TLS is off."""
    return {"ssl": True, **_converted(query, _TLS_OPTIONS)} if enabled else {}


def _check_tls_used(query: Mapping[str, str], enabled: bool) -> None:
    if not enabled and set(query) & set(_TLS_OPTIONS):
        raise ConfigError("REDIS_URL has ssl_* options but TLS is off (ssl / sentinel_ssl)")


def _service_and_db(path: tuple[str, ...]) -> tuple[str, int]:
    if len(path) not in (1, 2) or (len(path) == 2 and not path[1].isdigit()):
        raise ConfigError("REDIS_URL (redis+sentinel://) must end in /service_name or /service/db")
    return path[0], int(path[1]) if len(path) == 2 else 0


@dataclass(frozen=True)
class SentinelSettings:
    """What a Sentinel URL says: where the sentinels are, and how to talk to them and to Redis."""

    sentinels: list[tuple[str, int]]
    service: str
    sentinel_options: dict[str, Any]
    node_options: dict[str, Any]


def sentinel_settings(url: str, options: Mapping[str, Any]) -> SentinelSettings:
    """Parse a redis+sentinel:// URL; ``options`` (timeouts, retry) apply to every connection."""
    parsed = parse_multi_host_url(url, SENTINEL_PORT)
    service, db = _service_and_db(parsed.path)
    query = _checked_query(parsed, _SENTINEL_OPTIONS)
    common = {**options, **_converted(query, _SOCKET_OPTIONS)}
    ssl = _flag("ssl", query.get("ssl", "false"))
    sentinel_ssl = _flag("sentinel_ssl", query.get("sentinel_ssl", "false"))
    _check_tls_used(query, ssl or sentinel_ssl)
    sentinel_options = {
        **common,
        **_credentials(query.get("sentinel_username"), query.get("sentinel_password")),
        **_tls(query, sentinel_ssl),
    }
    node_options = {
        **common,
        **_credentials(parsed.username, parsed.password),
        **_tls(query, ssl),
        "db": db,
    }
    return SentinelSettings(list(parsed.nodes), service, sentinel_options, node_options)


def sentinel_client(url: str, options: Mapping[str, Any]) -> redis.Redis:
    """A client on the current primary of a Sentinel-monitored service (connects lazily)."""
    settings = sentinel_settings(url, options)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        settings.sentinels, sentinel_kwargs=settings.sentinel_options, **settings.node_options
    )
    primary: redis.Redis = sentinel.master_for(settings.service)  # type: ignore[no-untyped-call]
    return primary


def cluster_settings(
    url: str, options: Mapping[str, Any]
) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """Parse a redis+cluster:// URL into startup nodes and RedisCluster options."""
    parsed = parse_multi_host_url(url, REDIS_PORT)
    if parsed.path not in ((), ("0",)):
        raise ConfigError("REDIS_URL (redis+cluster://) cannot name a database: Cluster has only 0")
    query = _checked_query(parsed, _CLUSTER_OPTIONS)
    ssl = _flag("ssl", query.get("ssl", "false"))
    _check_tls_used(query, ssl)
    kwargs = {
        **options,
        **_converted(query, _SOCKET_OPTIONS),
        **_credentials(parsed.username, parsed.password),
        **_tls(query, ssl),
    }
    kwargs.pop("health_check_interval", None)  # not a RedisCluster option
    return list(parsed.nodes), kwargs


def cluster_client(url: str, options: Mapping[str, Any]) -> RedisCluster:
    """A Redis Cluster client that starts from the listed nodes (it reads the slot map now)."""
    nodes, kwargs = cluster_settings(url, options)
    startup = [ClusterNode(host, port) for host, port in nodes]  # type: ignore[no-untyped-call]
    return RedisCluster(startup_nodes=startup, **kwargs)
