"""Session-store faults against a real redis-server of the test's own (plan J, cases 48-51).

Redis stopped, hung (SIGSTOP, CLIENT PAUSE, DEBUG SLEEP), full (noeviction, allkeys-lru)
and connections killed under load: what needs the session fails fast and cleanly with
503 JSON + Retry-After, what does not keeps working, and service comes back by itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from extensions import db
from models import User
from tests.faults import (
    FAST,
    PASSWORD,
    LoadResult,
    assert_unavailable,
    check_unavailable,
    connected_to,
    fresh_client,
    gql_post,
    http_call,
    join_all,
    migrated_app,
    registered_client,
    run_load,
    timed,
)
from tests.helpers import CREATE_POST, LOGIN, LOGOUT, ME, REGISTER
from tests.support import RedisProcess, Server, app_env, app_server, worker_pids

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]


@pytest.fixture
def app(tmp_path: Path, private_redis: RedisProcess) -> Flask:
    """The app on a migrated SQLite file and the test's own redis-server."""
    return migrated_app(f"sqlite:///{tmp_path / 'app.sqlite'}", private_redis.url)


def user_count(app: Flask, username: str) -> int:
    """Rows for ``username`` in the user table."""
    with app.app_context():
        query = select(func.count()).select_from(User).where(User.username == username)
        return db.session.scalar(query) or 0


def me_of(client: FlaskClient) -> str | None:
    """The username ``me`` answers, asserting a 200."""
    response = gql_post(client, ME)
    assert response.status_code == 200, response.get_data()
    user = response.get_json()["data"]["me"]
    return user["username"] if user else None


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
    app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(app)
    private_redis.shutdown()

    assert_session_operations_fail_fast(app, alice)
    assert_sessionless_operations_work(app, alice)
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["down"] == ["redis"]

    private_redis.start()  # empty: alice's session is gone, her cookie is simply anonymous
    assert me_of(alice) is None
    assert gql_post(alice, LOGIN, username="alice", password=PASSWORD).status_code == 200
    assert me_of(alice) == "alice"


def test_hung_redis_fails_within_the_timeout_budget_then_recovers(
    app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(app)
    private_redis.pause()  # SIGSTOP: connections are accepted, nothing answers
    try:
        assert_session_operations_fail_fast(app, alice)
        assert_sessionless_operations_work(app, alice)
    finally:
        private_redis.resume()
    assert me_of(alice) == "alice"
    assert user_count(app, "bob") == 0


def test_client_pause_fails_fast_then_recovers(app: Flask, private_redis: RedisProcess) -> None:
    alice = registered_client(app)
    admin = private_redis.client()
    admin.execute_command("CLIENT", "PAUSE", "4000", "ALL")
    paused_until = time.monotonic() + 4
    response, seconds = timed(lambda: gql_post(alice, ME))
    check_unavailable(response)
    assert seconds < FAST
    assert_sessionless_operations_work(app, alice)
    time.sleep(max(0.0, paused_until - time.monotonic()))  # CLIENT UNPAUSE is paused too
    assert me_of(alice) == "alice"


def test_redis_busy_in_a_slow_command_fails_fast(app: Flask, private_redis: RedisProcess) -> None:
    alice = registered_client(app)
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


def test_writes_paused_reads_still_work(app: Flask, private_redis: RedisProcess) -> None:
    alice = registered_client(app)
    admin = private_redis.client()
    admin.execute_command("CLIENT", "PAUSE", "5000", "WRITE")
    assert me_of(alice) == "alice"  # a logged-in read is one GET: not paused
    for client, query in ((app.test_client(), LOGIN), (alice, LOGOUT)):
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


def test_redis_full_noeviction_refuses_logins_cleanly(
    app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(app)
    make_full(private_redis)

    assert_session_operations_fail_fast_on_write(app)
    assert me_of(alice) == "alice"  # reads still work
    response = gql_post(alice, LOGOUT)  # DEL is allowed when full
    assert response.status_code == 200 and response.get_json()["data"]["logout"] is True
    assert me_of(alice) is None


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


def test_redis_full_with_eviction_makes_evicted_users_anonymous(
    app: Flask, private_redis: RedisProcess
) -> None:
    alice = registered_client(app)
    (key,) = private_redis.client().keys("sess:*")
    admin = private_redis.client()
    admin.config_set("maxmemory-policy", "allkeys-lru")
    admin.config_set("maxmemory", str(admin.info("memory")["used_memory"] + 1024 * 1024))

    fill(private_redis, until=lambda client: not client.exists(key))

    assert me_of(alice) is None  # evicted: anonymous, not an error
    assert alice.get("/me").status_code == 200
    bob = registered_client(app, "bob")  # writes still succeed by evicting filler
    assert me_of(bob) == "bob"


def test_client_kill_mid_load_fails_only_in_flight_requests(
    app: Flask, private_redis: RedisProcess
) -> None:
    threads = 4
    clients = [registered_client(app, f"user{i}") for i in range(threads)]
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


# --- through each real server: two workers, one Redis that goes away and comes back ---


def logged_in_http(base_url: str) -> dict[str, str]:
    """Register alice over HTTP; return her cookies."""
    client = fresh_client(base_url)
    status, _, body = http_call(client, REGISTER, username="alice", password=PASSWORD)
    assert status == 200, body
    assert "qid" in client.cookies
    return client.cookies


@contextmanager
def alice_served(
    server_kind: str, tmp_path: Path, redis_process: RedisProcess
) -> Iterator[tuple[Server, list[int], dict[str, str]]]:
    """``server_kind`` on SQLite and ``redis_process``: server, its 2 workers, alice's cookies."""
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", redis_process.url)
    with app_server(server_kind, env, tmp_path) as server:
        yield server, worker_pids(server.process.pid, 2), logged_in_http(server.base_url)


def http_me(base_url: str, cookies: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """``me`` on a fresh connection with the given cookies."""
    return http_call(fresh_client(base_url, cookies), ME)


def serve_until_every_worker_reconnected(
    server: Server, cookies: dict[str, str], workers: list[int], redis_port: int, expect: str | None
) -> int:
    """Send ``me`` from 4 threads until each worker holds a connection to the new Redis.

    Every answer must be 200 with the expected user; returns how many requests it took.
    """
    answers: list[tuple[int, str | None]] = []

    def one() -> None:
        status, _, body = http_me(server.base_url, cookies)
        me = json.loads(body)["data"]["me"] if status == 200 else None
        answers.append((status, me and me["username"]))

    deadline = time.monotonic() + 15
    while not all(connected_to(pid, redis_port) for pid in workers):
        assert time.monotonic() < deadline, f"workers not all reconnected: {answers[-5:]}"
        burst = [threading.Thread(target=one) for _ in range(4)]
        for thread in burst:
            thread.start()
        for thread in burst:
            thread.join(20)
    assert answers and all(answer == (200, expect) for answer in answers), answers
    return len(answers)


def test_workers_serve_again_after_redis_restarts(
    server_kind: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    with alice_served(server_kind, tmp_path, private_redis) as (server, workers, cookies):
        private_redis.shutdown(save=True)
        for _ in range(4):
            assert_unavailable(*http_me(server.base_url, cookies))
        status, _, _ = http_call(fresh_client(server.base_url, cookies), "{ hello }")
        assert status == 200

        private_redis.start()  # same data: alice is still logged in, on every worker
        serve_until_every_worker_reconnected(
            server, cookies, workers, private_redis.port, expect="alice"
        )

        private_redis.restart(keep_data=False)  # empty: her cookie is simply anonymous
        serve_until_every_worker_reconnected(
            server, cookies, workers, private_redis.port, expect=None
        )
        client = fresh_client(server.base_url)
        status, _, _ = http_call(client, LOGIN, username="alice", password=PASSWORD)
        assert status == 200 and "qid" in client.cookies

        assert worker_pids(server.process.pid, 2) == workers  # no worker was restarted
    assert "WORKER TIMEOUT" not in server.log()


def test_hung_redis_fails_fast_instead_of_hitting_a_worker_timeout(
    server_kind: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    with alice_served(server_kind, tmp_path, private_redis) as (server, workers, cookies):
        answers: list[tuple[tuple[int, dict[str, str], bytes], float]] = []

        def one() -> None:
            answers.append(timed(lambda: http_me(server.base_url, cookies)))

        private_redis.pause()
        try:
            burst = [threading.Thread(target=one) for _ in range(6)]
            for thread in burst:
                thread.start()
            for thread in burst:
                thread.join(30)
            hello, seconds = timed(lambda: http_call(fresh_client(server.base_url), "{ hello }"))
        finally:
            private_redis.resume()
        assert len(answers) == 6
        for response, took in answers:
            assert_unavailable(*response)
            assert took < FAST
        assert hello[0] == 200 and seconds < FAST
        status, _, body = http_me(server.base_url, cookies)
        assert status == 200 and json.loads(body)["data"]["me"]["username"] == "alice"
        assert worker_pids(server.process.pid, 2) == workers
    log = server.log()
    assert "WORKER TIMEOUT" not in log
    assert "Traceback" not in log  # an outage is one warning line per request, not a trace
    assert "backing service unavailable" in log


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
