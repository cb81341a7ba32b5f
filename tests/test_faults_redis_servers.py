"""Redis faults through each real server (gunicorn, Granian): two workers, one Redis that
goes away and comes back, or hangs. Every worker serves again without a restart, and a hung
Redis is a fast 503, never a worker timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults import (
    FAST,
    PASSWORD,
    assert_unavailable,
    connected_to,
    fresh_client,
    http_call,
    timed,
)
from tests.helpers import LOGIN, ME, REGISTER
from tests.support import RedisProcess, Server, app_env, app_server, worker_pids

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]


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
