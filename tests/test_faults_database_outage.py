"""Database outages (plan K, cases 53-54): PostgreSQL stopped and started again, backends
killed under load or between two statements of one request.

PostgreSQL stopped and started again runs on a private cluster of this run's own; killed
backends touch nothing but a database the test creates, so they run on the private cluster
or, without one, on TEST_DATABASE_URL. What needs the database is a fast, clean 503 +
Retry-After, the rest keeps working, and the first request after recovery is served.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from extensions import db
from tests.faults import (
    PASSWORD,
    POSTS,
    LoadResult,
    assert_fast_503,
    check_unavailable,
    gql_post,
    join_all,
    migrated_app,
    ok_data,
    other_connections,
    registered_client,
    run_load,
)
from tests.helpers import CREATE_POST, LOGIN, ME, REGISTER
from tests.support import PostgresCluster, RedisProcess, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]


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
    return len(other_connections(admin_url, database, "pg_terminate_backend(pid)"))


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
