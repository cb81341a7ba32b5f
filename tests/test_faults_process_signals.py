"""Signals and slow requests, each real server on PostgreSQL and a private Redis (plan L,
case 56).

SIGTERM lets in-flight requests finish (under gunicorn and Granian), reads keep being
answered while logins hash, and gunicorn's SIGHUP reloads without a 5xx.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
from http.client import HTTPException
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.faults import (
    PASSWORD,
    LoadResult,
    fresh_client,
    http_call,
    join_all,
    read_outcome,
    register_over_http,
    run_load,
)
from tests.helpers import ME, REGISTER
from tests.support import RedisProcess, Server, app_env, app_server, wait_for, worker_pids

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]
SLOW_ARGON2 = {"ARGON2_TIME_COST": "4", "ARGON2_MEMORY_COST": "65536"}  # ~0.7-2 s per hash here


def slow_registrations(server: Server, count: int) -> tuple[list[threading.Thread], list[int]]:
    """Start ``count`` registrations (slow argon2) and wait until workers accepted them all."""
    statuses: list[int] = []

    def register(index: int) -> None:
        client = fresh_client(server.base_url)
        client.timeout = 60
        status, _, body = http_call(client, REGISTER, username=f"slow{index}", password=PASSWORD)
        ok = status == 200 and json.loads(body)["data"]["register"]["user"] is not None
        statuses.append(status if ok else -status)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    port = int(server.base_url.rsplit(":", 1)[1])
    wait_for("requests accepted", lambda: accepted(server.process.pid, port) >= count, 20)
    return threads, statuses


def accepted(master: int, port: int) -> int:
    """How many client connections the master's workers have accepted on ``port``."""
    return sum(
        1
        for child in psutil.Process(master).children()
        for conn in child.net_connections(kind="tcp")
        if conn.laddr.port == port and conn.raddr and conn.status == psutil.CONN_ESTABLISHED
    )


def test_sighup_reload_finishes_in_flight_requests_without_5xx(
    tmp_path: Path, harmless_database: str, private_redis: RedisProcess
) -> None:
    env = app_env(tmp_path, harmless_database, private_redis.url, **SLOW_ARGON2)
    with app_server("gunicorn", env, tmp_path) as server:
        master = server.process.pid
        old = worker_pids(master, 2)
        result, stop = LoadResult(), threading.Event()

        def hello(_: int) -> str:
            try:
                status = http_call(fresh_client(server.base_url), "{ hello }")[0]
            except (urllib.error.URLError, HTTPException, ConnectionError) as error:
                return f"connection {type(error).__name__}"
            return "ok" if status == 200 else f"HTTP {status}"

        load = run_load(hello, 2, stop, 60, result)
        threads, statuses = slow_registrations(server, 4)
        os.kill(master, signal.SIGHUP)
        for thread in threads:
            thread.join(60)
        wait_for("old workers gone", lambda: not set(old) & set(worker_pids(master, 2)), 30)
        time.sleep(0.5)
        stop.set()
        join_all(load)

        assert statuses == [200] * 4, statuses  # every in-flight registration completed
        assert set(result.counts()) == {"ok"}, result.counts()  # no 5xx, nothing refused
        cookies = register_over_http(server.base_url, "after")
        status, _, body = http_call(fresh_client(server.base_url, cookies), ME)
        assert status == 200 and json.loads(body)["data"]["me"]["username"] == "after"
    assert "Handling signal: hup" in server.log()


def test_sigterm_finishes_in_flight_requests_then_exits_cleanly(
    server_kind: str, tmp_path: Path, harmless_database: str, private_redis: RedisProcess
) -> None:
    env = app_env(tmp_path, harmless_database, private_redis.url, **SLOW_ARGON2)
    with app_server(server_kind, env, tmp_path) as server:
        worker_pids(server.process.pid, 2)
        threads, statuses = slow_registrations(server, 4)
        server.process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(60)
        assert server.process.wait(30) == 0
    assert statuses == [200] * 4, statuses
    with psycopg.connect(harmless_database, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute('SELECT count(*) FROM "user" WHERE username LIKE %s', ("slow%",))
        assert rows.fetchone() == (4,)  # every answered registration is really there


def test_reads_are_answered_while_logins_hash(
    server_kind: str, tmp_path: Path, harmless_database: str, private_redis: RedisProcess
) -> None:
    """Four slow registrations hold four of the eight request threads; reads go on."""
    env = app_env(tmp_path, harmless_database, private_redis.url, **SLOW_ARGON2)
    with app_server(server_kind, env, tmp_path) as server:
        server.workers(2)
        cookies = register_over_http(server.base_url)
        threads, statuses = slow_registrations(server, 4)
        during: list[str] = []
        while any(thread.is_alive() for thread in threads) and len(during) < 50:
            outcome = read_outcome(server.base_url, cookies)
            if any(thread.is_alive() for thread in threads):  # answered before the hashes were
                during.append(outcome)
        for thread in threads:
            thread.join(60)
    assert statuses == [200] * 4, statuses
    assert during and set(during) == {"ok"}, during
