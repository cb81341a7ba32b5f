"""Session-store outages against a real redis-server of the test's own (plan J, cases 48-51).

Redis stopped, hung (SIGSTOP, CLIENT PAUSE, DEBUG SLEEP), writes paused and connections
killed under load: what needs the session fails fast and cleanly with 503 JSON +
Retry-After, what does not keeps working, and service comes back by itself. Redis full is
test_faults_redis_full.py; the same outages through gunicorn and Granian,
test_faults_redis_servers.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.faults import (
    FAST,
    PASSWORD,
    LoadResult,
    check_unavailable,
    gql_post,
    join_all,
    me_of,
    registered_client,
    run_load,
    timed,
    user_count,
)
from tests.helpers import CREATE_POST, LOGIN, LOGOUT, ME, REGISTER
from tests.support import RedisProcess

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]


def assert_session_operations_fail_fast(app: Flask, alice: FlaskClient) -> None:
    """Everything that needs the session answers a clean 503 within FAST seconds."""
    stranger = app.test_client()
    calls: dict[str, Callable[[], object]] = {
        "me with a cookie": lambda: gql_post(alice, ME),
        "REST /me with a cookie": lambda: alice.get("/me"),
        "login with a cookie": lambda: gql_post(alice, LOGIN, username="alice", password=PASSWORD),
        "login": lambda: gql_post(stranger, LOGIN, username="alice", password=PASSWORD),
        "register": lambda: gql_post(stranger, REGISTER, username="bob", password=PASSWORD),
        "createPost": lambda: gql_post(alice, CREATE_POST, title="lost"),
    }
    for name, call in calls.items():
        response, seconds = timed(call)
        check_unavailable(response)
        assert seconds < FAST, f"{name} took {seconds:.2f}s"
    assert user_count(app, "bob") == 0  # register stored no session, so it left no account
    assert stranger.get_cookie("qid") is None


def assert_sessionless_operations_work(app: Flask, alice: FlaskClient) -> None:
    """Requests that never need the session still answer 200."""
    anonymous = app.test_client()
    assert me_of(anonymous) is None
    for client in (alice, anonymous):
        response = gql_post(client, "{ hello posts(limit: 5) { id } }")
        assert response.status_code == 200, response.get_data()
        assert response.get_json()["data"]["hello"] == "hello world"


def test_redis_down_fails_session_requests_fast_and_keeps_the_rest(
    redis_app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(redis_app)
    private_redis.shutdown()

    assert_session_operations_fail_fast(redis_app, alice)
    assert_sessionless_operations_work(redis_app, alice)
    health = redis_app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["down"] == ["redis"]

    private_redis.start()  # empty: alice's session is gone, her cookie is simply anonymous
    assert me_of(alice) is None
    assert gql_post(alice, LOGIN, username="alice", password=PASSWORD).status_code == 200
    assert me_of(alice) == "alice"


def test_hung_redis_fails_within_the_timeout_budget_then_recovers(
    redis_app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(redis_app)
    private_redis.pause()  # SIGSTOP: connections are accepted, nothing answers
    try:
        assert_session_operations_fail_fast(redis_app, alice)
        assert_sessionless_operations_work(redis_app, alice)
    finally:
        private_redis.resume()
    assert me_of(alice) == "alice"
    assert user_count(redis_app, "bob") == 0


def test_client_pause_fails_fast_then_recovers(
    redis_app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(redis_app)
    admin = private_redis.client()
    admin.execute_command("CLIENT", "PAUSE", "4000", "ALL")
    paused_until = time.monotonic() + 4
    response, seconds = timed(lambda: gql_post(alice, ME))
    check_unavailable(response)
    assert seconds < FAST
    assert_sessionless_operations_work(redis_app, alice)
    time.sleep(max(0.0, paused_until - time.monotonic()))  # CLIENT UNPAUSE is paused too
    assert me_of(alice) == "alice"


def test_redis_busy_in_a_slow_command_fails_fast(
    redis_app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(redis_app)
    sleeper = threading.Thread(
        target=lambda: private_redis.client().execute_command("DEBUG", "SLEEP", "2")
    )
    sleeper.start()
    time.sleep(0.1)
    response, seconds = timed(lambda: gql_post(alice, ME))
    check_unavailable(response)
    assert seconds < FAST
    sleeper.join(10)
    assert me_of(alice) == "alice"


def test_writes_paused_reads_still_work(redis_app: Flask, private_redis: RedisProcess) -> None:
    alice = registered_client(redis_app)
    admin = private_redis.client()
    admin.execute_command("CLIENT", "PAUSE", "5000", "WRITE")
    assert me_of(alice) == "alice"  # a logged-in read is one GET: not paused
    for client, query in ((redis_app.test_client(), LOGIN), (alice, LOGOUT)):
        response, seconds = timed(
            partial(gql_post, client, query, username="alice", password=PASSWORD)
        )
        check_unavailable(response)
        assert "errors" in response.get_json()  # the GraphQL answer, not a generic error page
        assert seconds < FAST
    admin.execute_command("CLIENT", "UNPAUSE")  # a write pause lets CLIENT commands through
    assert me_of(alice) == "alice"  # the failed logout changed nothing: it can be retried
    assert gql_post(alice, LOGOUT).get_json()["data"]["logout"] is True
    assert me_of(alice) is None


def test_client_kill_mid_load_fails_only_in_flight_requests(
    redis_app: Flask, private_redis: RedisProcess
) -> None:
    threads = 4
    clients = [registered_client(redis_app, f"user{i}") for i in range(threads)]
    result, stop = LoadResult(), threading.Event()

    def step(index: int) -> str:
        response = gql_post(clients[index], ME)
        body = response.get_json()
        ok = response.status_code == 200 and body["data"]["me"]["username"] == f"user{index}"
        return "ok" if ok else str(response.status_code)

    admin = private_redis.client()
    workers = run_load(step, threads, stop, max_seconds=20, result=result)
    killed = 0
    for _ in range(5):
        time.sleep(0.3)
        killed += admin.client_kill_filter(_type="normal", skipme=True)
    time.sleep(0.3)
    stop.set()
    join_all(workers)

    counts = result.counts()
    assert set(counts) <= {"ok", "503"}, counts
    assert killed >= 5 and counts["ok"] > 0
    assert counts["503"] <= killed  # at most the requests whose connection was killed
    assert [me_of(client) for client in clients] == [f"user{i}" for i in range(threads)]
    assert len(private_redis.app_clients()) <= threads  # no leaked connections
