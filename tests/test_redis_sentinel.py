"""Redis Sentinel (REDIS_URL=redis+sentinel://...): the service follows a failover.

A primary, a replica and three sentinels, all real; the primary is SIGKILLed mid-run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.helpers import LOGOUT, ME, SQLITE_ONLY, GraphQLClient, registered_clients
from tests.redis_servers import REDIS_SERVER, SentinelGroup, require_binary, sentinel_group

pytestmark = pytest.mark.timeout(90)
SESSIONS = "{ sessions { id current } }"
RECOVERY_BOUND = 30  # seconds; sentinels here declare the primary down after 1 s
REQUEST_BOUND = 3  # seconds; an outage answers 503 at once, it never hangs


@pytest.fixture
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    """A primary, a replica and three sentinels that know each other."""
    require_binary(REDIS_SERVER, "redis-server")
    with sentinel_group(tmp_path) as group:
        yield group


def _replicated(group: SentinelGroup) -> None:
    """Everything the service wrote so far is on the replica (WAIT after a marker write)."""
    primary = group.primary.client()
    primary.set("test:replication-marker", "1")
    assert primary.wait(1, 5000) == 1


def _wait_for_service(gql: GraphQLClient) -> tuple[float, list[int]]:
    """Ask ``me`` until it answers 200; every other answer must be a quick 503."""
    started = time.monotonic()
    statuses: list[int] = []
    while time.monotonic() - started < RECOVERY_BOUND:
        sent = time.monotonic()
        response = gql.post(ME, expect_errors=True)  # 503s until the failover completes
        assert time.monotonic() - sent < REQUEST_BOUND
        statuses.append(response.status_code)
        if response.status_code == 200:
            return time.monotonic() - started, statuses
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Retry-After"] == "1"
        assert response.get_json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        time.sleep(0.1)
    raise AssertionError(f"no answer within {RECOVERY_BOUND}s of the failover: {statuses}")


@SQLITE_ONLY
def test_sessions_survive_the_primary_being_killed(
    app_factory: Callable[..., Flask], group: SentinelGroup
) -> None:
    app = app_factory(REDIS_URL=group.url)
    users = registered_clients(app, 5)
    laptop = GraphQLClient(app.test_client())  # user0 on a second device
    assert laptop.login("user0")["user"]["username"] == "user0"
    assert len(list(group.primary.client().scan_iter("sess:*"))) == 6
    _replicated(group)

    group.primary.kill()
    recovered, statuses = _wait_for_service(users["user0"])
    print(
        f"\nsentinel failover: service answered again {recovered:.2f}s after SIGKILL "
        f"({statuses.count(503)} quick 503s meanwhile)"
    )

    assert group.primary_port() == group.replica.port  # the replica was promoted
    for name, gql in users.items():
        assert gql.me()["username"] == name
    assert laptop.me()["username"] == "user0"
    assert len(users["user0"](SESSIONS)["data"]["sessions"]) == 2  # the index survived too
    assert users["user0"]("mutation { logoutAll }") == {"data": {"logoutAll": 2}}
    assert users["user0"].me() is None and laptop.me() is None
    users["user1"](LOGOUT)
    assert users["user1"].me() is None
    newcomer = GraphQLClient(app.test_client())
    assert newcomer.register("newcomer")["user"]["username"] == "newcomer"
    assert newcomer.me()["username"] == "newcomer"
    # six sessions before; three ended, one new: all on the promoted replica
    assert len(list(group.replica.client().scan_iter("sess:*"))) == 4
