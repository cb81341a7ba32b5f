"""What metrics add to a request, in process: a logged-in `me` through the whole app with and
without the WSGI timer, interleaved (noisy on a shared machine), and the per-event counter
and a GraphQL request's two histogram observations on their own (tallied), then the flush
that writes the tallies out (the flusher thread's work, per request).

``python -m bench.metrics_cost`` (in-process values) or with PROMETHEUS_MULTIPROC_DIR set to
an empty directory (the servers' mode: values in mmapped files). Needs REDIS_URL.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from app import create_app
from config import load_config
from infra import metrics
from infra.database import upgrade_database
from tests.helpers import ME, REGISTER
from web.request_metrics import RequestMetrics

ROUNDS, PER_ROUND = 15, 400


def per_call_us(call: Callable[[], Any], n: int) -> float:
    """Microseconds per call of ``call``, over ``n`` calls."""
    started = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    """Print the medians: request with and without the timer, one count(), and a flush."""
    workdir = tempfile.mkdtemp()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite"}
    env.update(ARGON2_TIME_COST="1", ARGON2_MEMORY_COST="1024", ARGON2_PARALLELISM="1")
    app = create_app(load_config(env))
    upgrade_database(app)
    client = app.test_client()
    variables = {"username": f"bench{os.getpid()}", "password": "correct horse"}
    client.post("/graphql", json={"query": REGISTER, "variables": variables})
    holder: Any = app  # the WSGI layer that wraps the timer (security headers, today)
    while not isinstance(holder.wsgi_app, RequestMetrics):
        holder = holder.wsgi_app
    timed = holder.wsgi_app

    def me() -> None:
        client.post("/graphql", json={"query": ME})

    with_timer, without = [], []
    for _ in range(ROUNDS):
        holder.wsgi_app = timed
        with_timer.append(per_call_us(me, PER_ROUND))
        holder.wsgi_app = timed.wsgi_app
        without.append(per_call_us(me, PER_ROUND))
    metrics.flush()
    count = per_call_us(lambda: metrics.count("document_cache", outcome="hit"), 20000)
    operation = ("Me", "query")
    observe = per_call_us(
        lambda: metrics.observe_request("/graphql", "POST", "200", 4e-4, operation), 20000
    )
    started = time.perf_counter()
    metrics.flush()  # what the flusher thread does with them, per request tallied
    flushed = (time.perf_counter() - started) / 20000 * 1e6
    mode = "multiprocess files" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "in process"
    print(f"metrics values: {mode}; python {sys.version.split()[0]}")
    print(f"me with the timer:    {statistics.median(with_timer):7.1f} us")
    print(f"me without the timer: {statistics.median(without):7.1f} us")
    print(f"one count():          {count:7.2f} us")
    print(f"one GraphQL request's histograms: {observe:7.2f} us")
    print(f"their share of a flush: {flushed:7.2f} us per request (count and histograms)")


if __name__ == "__main__":
    main()
