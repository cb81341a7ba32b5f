"""The session read's lean GET: redis-py's answer, retry and errors, without its wrappers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from infra.redis_client import client_options, create_client, lean_get
from tests.helpers import database_commands
from tests.support import RedisProcess

HANDSHAKE = ("SELECT", "CLIENT", "HELLO")  # a new connection's set-up


def test_it_answers_as_get_with_one_get(redis_server: redis.Redis) -> None:
    redis_server.set("sess:lean", b"\x81\xa1u\x07")
    with database_commands(redis_server) as commands:
        found = lean_get(redis_server, "sess:lean")
        missing = lean_get(redis_server, "sess:nothing")
    assert (found, missing) == (redis_server.get("sess:lean"), None)
    sent = [c for c in commands if not c.startswith(HANDSHAKE)]
    assert sent == ["GET sess:lean", "GET sess:nothing"]


def _attempts_while_paused(server: RedisProcess, get: Callable[[str], object]) -> tuple[str, int]:
    """The error a GET raises while the server is paused, and the connections it opened."""
    admin = server.client()
    get("sess:paused")  # connected before the pause
    before = admin.info("stats")["total_connections_received"]
    admin.execute_command("CLIENT", "PAUSE", 1200, "ALL")
    with pytest.raises(redis.RedisError) as raised:
        get("sess:paused")
    admin.execute_command("CLIENT", "UNPAUSE")
    return type(raised.value).__name__, admin.info("stats")["total_connections_received"] - before


@pytest.mark.parametrize("retries", [0, 1])
def test_a_hung_server_gets_the_configured_retries_as_redis_get_does(
    private_redis: RedisProcess, retries: int
) -> None:
    client = create_client(private_redis.url, **client_options(0.3, 0.3, retries))
    lean = _attempts_while_paused(private_redis, lambda key: lean_get(client, key))
    stock = _attempts_while_paused(private_redis, client.get)
    assert lean == stock == ("TimeoutError", retries), (lean, stock)
    assert lean_get(client, "sess:paused") is None  # and it serves again


def test_a_stopped_server_raises_connection_error(private_redis: RedisProcess) -> None:
    client = create_client(private_redis.url, **client_options(0.5, 0.25, 1))
    assert lean_get(client, "sess:none") is None
    private_redis.shutdown()
    with pytest.raises(redis.ConnectionError):
        lean_get(client, "sess:none")
