"""/metrics under each real server with two workers: every worker's counts add up in one
scrape, whichever worker answers it, and a dead worker's counts stay counted."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import LOGIN, REGISTER
from tests.support import (
    HttpClient,
    app_env,
    app_server,
    wait_for,
    wait_for_replacement,
    worker_pids,
)

pytestmark = pytest.mark.timeout(120)
HELLO = "query Hello { hello }"
MAX_TRIES = 400  # fresh connections before giving up on reaching both workers


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base_url: str) -> Samples:
    """Every sample of one GET /metrics, by name and labels."""
    status, headers, body = HttpClient(base_url).request("GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape_when(base_url: str, settled: Callable[[Samples], bool]) -> Samples:
    """A scrape once ``settled`` holds: each worker records its requests within a second."""
    found: list[Samples] = []

    def check() -> bool:
        found[:] = [scrape(base_url)]
        return settled(found[0])

    wait_for("the workers' metrics", check, timeout=10, interval=0.2)
    return found[0]


def hello_until_both_workers_answered(base_url: str, metrics_dir: Path, workers: list[int]) -> int:
    """Send `query Hello` on fresh connections until each worker has recorded some; the count."""
    sent = 0
    while sent < 20 or not all((metrics_dir / f"histogram_{pid}.db").exists() for pid in workers):
        assert sent < MAX_TRIES, "requests never reached both workers"
        status, body = HttpClient(base_url).graphql(HELLO)
        assert status == 200 and body["data"] == {"hello": "hello world"}
        sent += 1
        time.sleep(0.01 if sent > 20 else 0)  # a worker's file appears at its first flush
    return sent


@pytest.fixture(autouse=True)
def empty_redis_after(redis_server) -> Iterator[None]:
    """The servers' rate-limit counters and sessions go with the test."""
    yield
    redis_server.flushdb()


def test_one_scrape_counts_every_workers_requests(
    server_kind: str, tmp_path: Path, redis_url: str
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # a previous run's: emptied at start
    env = app_env(
        tmp_path,
        f"sqlite:///{tmp_path / 'app.sqlite'}",
        redis_url,
        threads="1",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    with app_server(server_kind, env, tmp_path) as server:
        workers = server.workers(2)
        sent = hello_until_both_workers_answered(server.base_url, metrics_dir, workers)
        client = HttpClient(server.base_url)
        assert client.graphql(REGISTER, username="alice", password="correct horse")[0] == 200
        assert client.graphql(LOGIN, username="alice", password="wrong password")[0] == 200

        graphql = {"route": "/graphql", "method": "POST", "status": "200"}
        samples = scrape_when(
            server.base_url,
            lambda s: value(s, "http_request_duration_seconds_count", **graphql) >= sent + 2,
        )
        assert value(samples, "http_request_duration_seconds_count", **graphql) == sent + 2
        hello = {"operation": "Hello", "type": "query", "status": "200"}
        assert value(samples, "graphql_operation_duration_seconds_count", **hello) == sent
        login = {"operation": "Login", "type": "mutation", "status": "200"}
        assert value(samples, "graphql_operation_duration_seconds_count", **login) == 1
        assert value(samples, "registrations_total", outcome="ok") == 1
        assert value(samples, "logins_total", outcome="failed") == 1
        hits = value(samples, "graphql_document_cache_total", outcome="hit")
        misses = value(samples, "graphql_document_cache_total", outcome="miss")
        assert hits + misses == sent + 2
        assert misses <= 2 + 2  # `Hello` once per worker, then one each for register, login

        os.kill(workers[0], signal.SIGKILL)
        wait_for_replacement(server.process.pid, workers)
        # the dead worker's recorded requests are still counted, and the scrapes are too
        # (once a live worker has recorded one: what a killed worker had queued is lost)
        metrics_route = {"route": "/metrics", "method": "GET", "status": "200"}
        after = scrape_when(
            server.base_url,
            lambda s: value(s, "http_request_duration_seconds_count", **metrics_route) >= 1,
        )
        assert value(after, "graphql_operation_duration_seconds_count", **hello) == sent
    assert not (metrics_dir / "counter_1.db").exists()


def test_server_makes_and_removes_its_own_metrics_directory(
    server_kind: str, tmp_path: Path, redis_url: str
) -> None:
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", redis_url, TMPDIR=str(tmp_path))
    with app_server(server_kind, env, tmp_path, drop=("PROMETHEUS_MULTIPROC_DIR",)) as server:
        made = list(tmp_path.glob("seed-metrics-*"))
        assert len(made) == 1
        for _ in range(4):
            assert HttpClient(server.base_url).graphql(HELLO)[0] == 200
        hello = {"operation": "Hello", "type": "query", "status": "200"}
        samples = scrape_when(
            server.base_url,
            lambda s: value(s, "graphql_operation_duration_seconds_count", **hello) >= 4,
        )
        assert value(samples, "graphql_operation_duration_seconds_count", **hello) == 4
    assert not made[0].exists()


def test_counts_survive_a_sighup_reload(tmp_path: Path, redis_url: str) -> None:
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", redis_url, TMPDIR=str(tmp_path))
    with app_server("gunicorn", env, tmp_path, drop=("PROMETHEUS_MULTIPROC_DIR",)) as server:
        old = server.workers(2)
        for _ in range(5):
            assert HttpClient(server.base_url).graphql(HELLO)[0] == 200
        os.kill(server.process.pid, signal.SIGHUP)  # gunicorn re-reads gunicorn.conf.py
        wait_for("new workers", lambda: not set(old) & set(worker_pids(server.process.pid, 2)))
        samples = scrape(server.base_url)  # the old workers recorded theirs as they exited
        hello = {"operation": "Hello", "type": "query", "status": "200"}
        assert value(samples, "graphql_operation_duration_seconds_count", **hello) == 5
        assert len(list(tmp_path.glob("seed-metrics-*"))) == 1
    assert not list(tmp_path.glob("seed-metrics-*"))


def test_a_graceful_stop_writes_every_request_out(
    server_kind: str, tmp_path: Path, redis_url: str
) -> None:
    """Workers write their tallies as they exit: none of a stopped server's requests is lost."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = app_env(
        tmp_path,
        f"sqlite:///{tmp_path / 'app.sqlite'}",
        redis_url,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    with app_server(server_kind, env, tmp_path) as server:
        for _ in range(5):
            assert HttpClient(server.base_url).graphql(HELLO)[0] == 200
        server.process.send_signal(signal.SIGTERM)  # at once: no flush has come round yet
        server.process.wait(30)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    hello = {"operation": "Hello", "type": "query", "status": "200"}
    assert registry.get_sample_value("graphql_operation_duration_seconds_count", hello) == 5
