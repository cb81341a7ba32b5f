"""Database faults through the real servers (plan K, and case 46 for SQLite under
gunicorn): concurrent SQLite writers in four workers never see "database is locked", and
under gunicorn and Granian a stopped PostgreSQL is a fast 503, then served again.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.faults import (
    FAST,
    PASSWORD,
    POSTS,
    assert_unavailable,
    fresh_client,
    http_call,
    timed,
)
from tests.helpers import CREATE_POST, REGISTER
from tests.support import PostgresCluster, RedisProcess, app_env, app_server, worker_pids

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]


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
