"""Database faults (plan K, cases 53-54, and 46 for SQLite under gunicorn).

PostgreSQL stopped and started again runs on a private cluster of this run's own. Killed
backends, a locked table and an exhausted pool touch nothing but a database the test
creates, so they run on the private cluster or, without one, on TEST_DATABASE_URL.

A statement timeout is treated as an outage: 503 + Retry-After. The request was valid and
may succeed when retried; the server could not answer in time (a lock held elsewhere, an
overloaded database), which is the same promise 503 makes for Redis or a stopped database.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from config import engine_options, normalise_database_url
from extensions import db
from tests.faults import (
    FAST,
    PASSWORD,
    LoadResult,
    assert_unavailable,
    check_unavailable,
    fresh_client,
    gql_post,
    http_call,
    join_all,
    migrated_app,
    registered_client,
    run_load,
    timed,
)
from tests.helpers import CREATE_POST, LOGIN, ME, REGISTER
from tests.support import (
    PostgresCluster,
    RedisProcess,
    app_env,
    app_server,
    wait_for,
    worker_pids,
)

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]
POSTS = "{ posts(limit: 10) { id title } }"


def pool_options(url: str, statement_timeout_ms: int, **pool: Any) -> dict[str, Any]:
    """The app's engine options for ``url`` with pool settings replaced."""
    options = engine_options(normalise_database_url(url), statement_timeout_ms)
    options.update(pool)
    return options


def ok_data(response: Any) -> Any:
    """The data of a 200 GraphQL answer without errors."""
    body = response.get_json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def assert_fast_503(call: Any, what: str) -> None:
    """``call()`` answers a clean 503 within FAST seconds."""
    response, seconds = timed(call)
    check_unavailable(response)
    assert seconds < FAST, f"{what} took {seconds:.2f}s"


def test_stopped_database_gives_fast_503_and_the_first_request_after_restart_works(
    private_database: str, private_postgres: PostgresCluster, private_redis: RedisProcess
) -> None:
    app = migrated_app(private_database, private_redis.url)
    alice = registered_client(app)
    ok_data(gql_post(alice, CREATE_POST, title="before the outage"))
    anonymous = app.test_client()

    private_postgres.stop("immediate")
    try:
        assert_fast_503(lambda: gql_post(anonymous, POSTS), "posts")
        assert_fast_503(lambda: gql_post(alice, CREATE_POST, title="lost"), "createPost")
        assert_fast_503(
            lambda: gql_post(anonymous, LOGIN, username="alice", password=PASSWORD), "login"
        )
        assert_fast_503(
            lambda: gql_post(anonymous, REGISTER, username="bob", password=PASSWORD), "register"
        )
        assert ok_data(gql_post(alice, "{ hello }")) == {"hello": "hello world"}
        assert ok_data(gql_post(anonymous, ME)) == {"me": None}
        # me is answered from the user snapshot in the session: no SQL, so it still works
        assert ok_data(gql_post(alice, ME))["me"]["username"] == "alice"
        health = anonymous.get("/healthz")
        assert health.status_code == 503 and health.get_json()["down"] == ["database"]
        assert anonymous.get_cookie("qid") is None
    finally:
        private_postgres.start()

    # pooled connections died with the server; pool_pre_ping replaces them unseen
    titles = [post["title"] for post in ok_data(gql_post(anonymous, POSTS))["posts"]]
    assert titles == ["before the outage"]
    assert ok_data(gql_post(alice, ME))["me"]["username"] == "alice"
    assert ok_data(gql_post(alice, CREATE_POST, title="after"))["createPost"]["title"] == "after"


def terminate_app_backends(admin_url: str, database: str) -> int:
    """pg_terminate_backend every connection to ``database`` but our own; how many."""
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def test_terminated_backends_fail_only_in_flight_requests(
    harmless_database: str, private_redis: RedisProcess
) -> None:
    app = migrated_app(harmless_database, private_redis.url)
    threads = 4
    clients = [registered_client(app, f"user{i}") for i in range(threads)]
    for client in clients:
        ok_data(gql_post(client, CREATE_POST, title="a post"))
    result, stop = LoadResult(), threading.Event()

    def step(index: int) -> str:
        # several statements per request: one may lose its connection, the others follow
        query = "{ me { id } posts(limit: 5) { id creator { username } } post(id: 1) { id } }"
        response = gql_post(clients[index], query)
        body = response.get_json()
        codes = sorted({e["extensions"]["code"] for e in body.get("errors", [])})
        if response.status_code == 200 and not codes:
            return "ok"
        return f"{response.status_code} {' '.join(codes)}"

    database = harmless_database.rsplit("/", 1)[1]
    workers = run_load(step, threads, stop, max_seconds=20, result=result)
    terminated = 0
    for _ in range(5):
        time.sleep(0.3)
        terminated += terminate_app_backends(harmless_database, database)
    last_kill = time.monotonic()
    time.sleep(0.5)
    stop.set()
    join_all(workers)

    counts = result.counts()
    outage = "503 SERVICE_UNAVAILABLE"
    assert set(counts) <= {"ok", outage}, counts
    assert terminated > 0 and counts["ok"] > 0
    assert counts[outage] <= terminated  # only requests whose backend died under them
    assert set(result.after(last_kill)) == {"ok"}
    for client in clients:
        assert ok_data(gql_post(client, ME))["me"] is not None


def test_backend_lost_between_two_statements_is_one_clean_outage(
    harmless_database: str, private_redis: RedisProcess
) -> None:
    app = migrated_app(harmless_database, private_redis.url)
    alice = registered_client(app)
    post_id = ok_data(gql_post(alice, CREATE_POST, title="mine"))["createPost"]["id"]
    # post is nullable, so its failed creator does not stop the next root field
    query = f"{{ post(id: {post_id}) {{ creator {{ username }} }} posts(limit: 1) {{ title }} }}"
    terminated: list[int] = []

    def terminate_before_the_creator_query(conn: Any, _c: Any, statement: str, *_: Any) -> None:
        if terminated or 'FROM "user"' not in statement:
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        terminated.append(pid)
        with psycopg.connect(harmless_database, autocommit=True, connect_timeout=5) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            wait_for(
                "backend gone",
                lambda: (
                    not admin.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)
                    ).fetchone()
                ),
                10,
            )

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", terminate_before_the_creator_query)
    try:
        response = gql_post(alice, query)
    finally:
        event.remove(engine, "before_cursor_execute", terminate_before_the_creator_query)

    assert terminated
    check_unavailable(response)
    codes = {error["extensions"]["code"] for error in response.get_json()["errors"]}
    assert codes == {"SERVICE_UNAVAILABLE"}  # the statements after it are the same outage
    assert ok_data(gql_post(alice, query))["posts"] == [{"title": "mine"}]


@contextmanager
def warnings_of(name: str) -> Iterator[list[str]]:
    """Messages logged at WARNING or above by one logger inside the block."""
    messages: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


class HeldLock:
    """A transaction in another connection holding ACCESS EXCLUSIVE on the post table."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, connect_timeout=5)

    def __enter__(self) -> HeldLock:
        self.conn.execute("LOCK TABLE post IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *_: object) -> None:
        self.conn.rollback()
        self.conn.close()


def test_locked_table_answers_503_within_the_statement_timeout(
    harmless_database: str, private_redis: RedisProcess
) -> None:
    app = migrated_app(harmless_database, private_redis.url, env={"DB_STATEMENT_TIMEOUT_MS": "500"})
    alice = registered_client(app)
    ok_data(gql_post(alice, CREATE_POST, title="first"))

    with HeldLock(harmless_database):
        assert_fast_503(lambda: gql_post(alice, POSTS), "posts")
        assert_fast_503(lambda: gql_post(alice, CREATE_POST, title="blocked"), "createPost")
        assert ok_data(gql_post(alice, ME))["me"]["username"] == "alice"  # user table is free
        assert ok_data(gql_post(alice, "{ hello }"))["hello"] == "hello world"

    titles = [post["title"] for post in ok_data(gql_post(alice, POSTS))["posts"]]
    assert titles == ["first"]  # the timed-out createPost left nothing behind


def test_exhausted_pool_waits_at_most_pool_timeout_then_503(
    harmless_database: str, private_redis: RedisProcess
) -> None:
    options = pool_options(harmless_database, 2500, pool_size=1, max_overflow=0, pool_timeout=1)
    app = migrated_app(harmless_database, private_redis.url, SQLALCHEMY_ENGINE_OPTIONS=options)
    answers: list[tuple[Any, float]] = []

    def one() -> None:
        answers.append(timed(lambda: gql_post(app.test_client(), POSTS)))

    with HeldLock(harmless_database), warnings_of("graphql_runtime.executor") as logged:
        # the one pooled connection waits on the lock, the other requests on the pool
        burst = [threading.Thread(target=one) for _ in range(4)]
        for thread in burst:
            thread.start()
        for thread in burst:
            thread.join(30)

    assert len(answers) == 4
    for response, seconds in answers:
        check_unavailable(response)
        assert seconds < 2.5 + FAST  # the statement timeout bounds the longest one
    causes = "\n".join(logged)
    assert "QueuePool limit of size 1 overflow 0 reached" in causes  # waited, then gave up
    assert "statement timeout" in causes
    assert ok_data(gql_post(app.test_client(), POSTS)) == {"posts": []}


def test_sqlite_four_workers_concurrent_writers_never_see_database_is_locked(
    tmp_path: Path, private_redis: RedisProcess
) -> None:
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", private_redis.url, workers="4")
    writers, posts_each = 8, 12
    statuses: list[int] = []
    with app_server("gunicorn", env, tmp_path) as server:
        worker_pids(server.process.pid, 4)

        def writer(index: int) -> None:
            client = fresh_client(server.base_url)
            username = f"writer{index}"
            statuses.append(http_call(client, REGISTER, username=username, password=PASSWORD)[0])
            for number in range(posts_each):
                status, _, body = http_call(client, CREATE_POST, title=f"{username} {number}")
                statuses.append(status if "errors" not in json.loads(body) else -status)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        status, _, body = http_call(fresh_client(server.base_url), "{ posts(limit: 100) { id } }")
        log = server.log()

    assert statuses == [200] * (writers * (posts_each + 1)), statuses
    assert status == 200 and len(json.loads(body)["data"]["posts"]) == writers * posts_each
    assert "database is locked" not in log


def test_through_each_server_a_stopped_database_is_a_fast_503_then_served_again(
    server_kind: str,
    tmp_path: Path,
    private_database: str,
    private_postgres: PostgresCluster,
    private_redis: RedisProcess,
) -> None:
    env = app_env(tmp_path, private_database, private_redis.url)
    with app_server(server_kind, env, tmp_path) as server:
        server.workers(2)
        alice = fresh_client(server.base_url)
        assert http_call(alice, REGISTER, username="alice", password=PASSWORD)[0] == 200

        private_postgres.stop("immediate")
        try:
            for _ in range(4):  # fresh connections: both workers answer
                response, seconds = timed(lambda: http_call(fresh_client(server.base_url), POSTS))
                assert_unavailable(*response)
                assert seconds < FAST
            assert http_call(fresh_client(server.base_url), "{ hello }")[0] == 200
        finally:
            private_postgres.start()

        for number in range(6):
            client = fresh_client(server.base_url, alice.cookies)
            status, _, body = http_call(client, CREATE_POST, title=f"after {number}")
            assert status == 200 and "errors" not in json.loads(body), body
