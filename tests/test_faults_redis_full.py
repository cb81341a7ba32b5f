"""Redis full (noeviction, allkeys-lru) or refusing the second of two writes, against a
real redis-server of the test's own: logins and registrations that need a write get a
clean 503 and leave nothing half done, reads keep working, evicted users are anonymous.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import redis
from flask import Flask

from tests.faults import (
    FAST,
    PASSWORD,
    check_unavailable,
    gql_post,
    me_of,
    migrated_app,
    registered_client,
    timed,
    user_count,
)
from tests.helpers import LOGIN, LOGOUT, ME, REGISTER
from tests.support import RedisProcess

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]


def fill(server: RedisProcess, until: Callable[[redis.Redis], bool], limit_mb: int = 64) -> None:
    """Write 64 KB filler values until ``until`` holds (bounded to ``limit_mb``)."""
    client = server.client()
    chunk = b"x" * 65536
    for index in range(limit_mb * 16):
        if until(client):
            return
        try:
            client.set(f"filler:{index}", chunk)
        except redis.exceptions.OutOfMemoryError:
            return
    raise AssertionError(f"condition not reached after {limit_mb} MB of filler")


def make_full(server: RedisProcess) -> None:
    """2 MB of other data, then maxmemory below usage with noeviction: writes get OOM."""
    admin = server.client()
    admin.mset({f"filler:{i}": b"x" * 65536 for i in range(32)})
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", str(admin.info("memory")["used_memory"] - 512 * 1024))
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        admin.set("probe", b"x")


def assert_session_operations_fail_fast_on_write(app: Flask) -> None:
    """Login and register need a write: clean 503, no cookie, no account left behind."""
    stranger = app.test_client()
    for query, name in ((LOGIN, "alice"), (REGISTER, "bob")):
        response, seconds = timed(
            partial(gql_post, stranger, query, username=name, password=PASSWORD)
        )
        check_unavailable(response)
        assert seconds < FAST
    assert stranger.get_cookie("qid") is None
    assert user_count(app, "bob") == 0


def test_redis_full_noeviction_refuses_logins_cleanly(
    redis_app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(redis_app)
    make_full(private_redis)

    assert_session_operations_fail_fast_on_write(redis_app)
    assert me_of(alice) == "alice"  # reads still work
    response = gql_post(alice, LOGOUT)  # DEL is allowed when full
    assert response.status_code == 200 and response.get_json()["data"]["logout"] is True
    assert me_of(alice) is None


def test_redis_full_with_eviction_makes_evicted_users_anonymous(
    redis_app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(redis_app)
    (key,) = private_redis.client().keys("sess:*")
    admin = private_redis.client()
    admin.config_set("maxmemory-policy", "allkeys-lru")
    admin.config_set("maxmemory", str(admin.info("memory")["used_memory"] + 1024 * 1024))

    fill(private_redis, until=lambda client: not client.exists(key))

    assert me_of(alice) is None  # evicted: anonymous, not an error
    assert alice.get("/me").status_code == 200
    bob = registered_client(redis_app, "bob")  # writes still succeed by evicting filler
    assert me_of(bob) == "bob"


def test_login_whose_second_write_fails_is_not_half_done(
    tmp_path: Path, private_redis: RedisProcess
) -> None:
    """The session record is written, then the user's session index is refused.

    Redis can refuse the second of two writes (maxmemory reached by the first, a
    connection killed in between); an ACL that leaves the index keys out makes it happen
    every time. The answer must be a clean 503 with no cookie and no session left.
    """
    database_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    registered_client(migrated_app(database_url, private_redis.url), "alice")
    admin = private_redis.client()
    admin.execute_command("ACL", "SETUSER", "app", "on", ">app-password", "~sess:*", "~rl:*",
                          "+@all")  # fmt: skip
    restricted = f"redis://app:app-password@127.0.0.1:{private_redis.port}/0"
    app = migrated_app(database_url, restricted)
    before = set(admin.keys("sess:*"))

    assert_session_operations_fail_fast_on_write(app)
    assert set(admin.keys("sess:*")) == before  # no session record left behind


def test_redis_full_reads_still_work_when_idle_sessions_slide(
    tmp_path: Path, private_redis: RedisProcess
) -> None:
    """With an idle timeout a read also pushes the expiry back: a refused push is no error."""
    env = {"SESSION_IDLE_TIMEOUT": "600", "SESSION_TOUCH_INTERVAL": "0"}  # touch on every read
    app = migrated_app(f"sqlite:///{tmp_path / 'app.sqlite'}", private_redis.url, env=env)
    alice = registered_client(app)
    make_full(private_redis)

    response = gql_post(alice, ME)
    assert response.status_code == 200, response.get_data()
    assert response.get_json()["data"]["me"]["username"] == "alice"
    assert "Set-Cookie" not in response.headers
