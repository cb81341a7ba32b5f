"""Worker processes and their connections, each real server on PostgreSQL and a private
Redis (plan L, case 55).

Under gunicorn and under Granian a worker killed with SIGKILL costs only the requests it
had in flight; the master replaces it, the user stays logged in, and no connection of the
dead worker lingers in Redis or PostgreSQL. gunicorn with --preload: the master still holds
no connection forked workers could inherit. Signals are test_faults_process_signals.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy.engine import make_url

from tests.faults import (
    LoadResult,
    join_all,
    other_connections,
    read_outcome,
    register_over_http,
    run_load,
)
from tests.support import (
    RedisProcess,
    app_env,
    app_server,
    wait_for,
    wait_for_replacement,
    worker_pids,
)

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]


def pg_backend_ports(database_url: str) -> list[int]:
    """Client ports of the connections to ``database_url``'s database, ours excluded."""
    database = str(make_url(database_url).database)
    ports = other_connections(database_url, database, "client_port")
    return [port for port in ports if port is not None]  # None: a unix-socket connection


def redis_client_ports(redis: RedisProcess) -> list[int]:
    """Client ports of the app's connections to Redis."""
    return [int(client["addr"].rsplit(":", 1)[1]) for client in redis.app_clients()]


def local_ports(pid: int, remote_port: int) -> set[int]:
    """Local ports of ``pid``'s established connections to 127.0.0.1:``remote_port``."""
    return {
        conn.laddr.port
        for conn in psutil.Process(pid).net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == remote_port and conn.status == psutil.CONN_ESTABLISHED
    }


def owners(pids: list[int], remote_port: int) -> dict[int, int]:
    """Which of ``pids`` holds each local port connected to ``remote_port``."""
    return {port: pid for pid in pids for port in local_ports(pid, remote_port)}


def assert_connections_belong_to(
    pids: list[int], master: int, database_url: str, redis: RedisProcess
) -> None:
    """Every server-side connection of the app is held by exactly one live worker."""
    pg_port = make_url(database_url).port or 5432
    for server_ports, remote in (
        (pg_backend_ports(database_url), pg_port),
        (redis_client_ports(redis), redis.port),
    ):
        held = owners(pids, remote)
        assert set(server_ports) <= set(held), (server_ports, held)
        all_ports = [port for pid in pids for port in local_ports(pid, remote)]
        assert len(all_ports) == len(set(all_ports)), "a socket is shared between workers"
        assert not local_ports(master, remote), "the master holds a connection"


def connections_settled(
    pids: list[int], master: int, database_url: str, redis: RedisProcess
) -> bool:
    """``assert_connections_belong_to`` as a predicate, for polling."""
    try:
        assert_connections_belong_to(pids, master, database_url, redis)
    except AssertionError:
        return False
    return True


def test_sigkill_of_a_worker_fails_only_its_in_flight_requests(
    server_kind: str, tmp_path: Path, harmless_database: str, private_redis: RedisProcess
) -> None:
    env = app_env(tmp_path, harmless_database, private_redis.url)
    threads = 4
    with app_server(server_kind, env, tmp_path) as server:
        master = server.process.pid
        workers = worker_pids(master, 2)
        cookies = register_over_http(server.base_url)
        result, stop = LoadResult(), threading.Event()
        load = run_load(lambda _: read_outcome(server.base_url, cookies), threads, stop, 30, result)
        victim = workers[0]
        pg_port = make_url(harmless_database).port or 5432
        wait_for(
            "the victim serving",
            lambda: bool(local_ports(victim, pg_port) and local_ports(victim, private_redis.port)),
            15,
        )
        victim_ports = local_ports(victim, pg_port) | local_ports(victim, private_redis.port)
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        replacement = wait_for_replacement(master, workers)
        replaced_at = time.monotonic()
        time.sleep(1.5)
        stop.set()
        join_all(load)

        counts = result.counts()
        failed = {outcome: n for outcome, n in counts.items() if outcome != "ok"}
        assert not [o for o in failed if o.startswith("HTTP")], counts  # never a 5xx
        # gunicorn: at most the one request in flight per thread. Granian on Linux gives each
        # worker a listening socket of its own (SO_REUSEPORT): a connection the kernel queued
        # on the dead worker's socket is reset too (not with net.ipv4.tcp_migrate_req=1)
        lost_per_thread = 1 if server_kind == "gunicorn" else 2
        assert sum(failed.values()) <= lost_per_thread * threads, counts
        assert set(result.after(replaced_at)) == {"ok"}, result.after(replaced_at)
        assert all(end < killed_at + 15 for _, end, _ in result.records)
        assert read_outcome(server.base_url, cookies) == "ok"  # still logged in

        live = [pid for pid in workers if pid != victim] + [replacement]
        wait_for(
            "connections of the killed worker gone",
            lambda: connections_settled(live, master, harmless_database, private_redis),
            15,
        )
        assert_connections_belong_to(live, master, harmless_database, private_redis)
        backend_ports = set(pg_backend_ports(harmless_database))
        server_side = backend_ports | set(redis_client_ports(private_redis))
        assert not victim_ports & server_side  # the dead worker's connections are closed


def test_preloaded_master_holds_no_connection_workers_could_inherit(
    tmp_path: Path, harmless_database: str, private_redis: RedisProcess
) -> None:
    """--preload builds the app in the master; it must still connect to nothing before forking.

    (Without --preload the SIGKILL test above checks the same on every connection.)
    """
    env = app_env(tmp_path, harmless_database, private_redis.url)
    with app_server("gunicorn", env, tmp_path, "--preload") as server:
        master = server.process.pid
        workers = worker_pids(master, 2)
        cookies = register_over_http(server.base_url)
        pg_port = make_url(harmless_database).port or 5432
        deadline = time.monotonic() + 20
        while not all(local_ports(pid, pg_port) for pid in workers):  # until both served
            assert time.monotonic() < deadline, "not every worker served a request"
            burst = [
                threading.Thread(target=read_outcome, args=(server.base_url, cookies))
                for _ in range(4)
            ]
            for thread in burst:
                thread.start()
            for thread in burst:
                thread.join(20)
        assert_connections_belong_to(workers, master, harmless_database, private_redis)
        assert read_outcome(server.base_url, cookies) == "ok"
