"""What metrics add to a request, in process: a logged-in `me` through the whole app, the
edge's ``record`` of a GraphQL request (route, method, operation and its two histograms),
the per-event counter and the two histogram observations on their own (tallied), then the
flush that writes the tallies out (the flusher thread's work, per request).

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
from infra.metrics import OPERATION_ENVIRON
from tests.helpers import ME, REGISTER
from web.request_metrics import record

ROUNDS, PER_ROUND = 15, 400


def per_call_us(call: Callable[[], Any], n: int) -> float:
    """Microseconds per call of ``call``, over ``n`` calls."""
    started = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    """Print the medians: a request, its record(), one count(), and a flush."""
    workdir = tempfile.mkdtemp()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite"}
    env.update(ARGON2_TIME_COST="1", ARGON2_MEMORY_COST="1024", ARGON2_PARALLELISM="1")
    app = create_app(load_config(env))
    upgrade_database(app)
    client = app.test_client()
    variables = {"username": f"bench{os.getpid()}", "password": "correct horse"}
    client.post("/graphql", json={"query": REGISTER, "variables": variables})

    def me() -> None:
        client.post("/graphql", json={"query": ME})

    requests = [per_call_us(me, PER_ROUND) for _ in range(ROUNDS)]
    with app.test_request_context("/graphql", method="POST") as context:
        context.match_request()
        environ: dict[str, Any] = context.request.environ
        environ[OPERATION_ENVIRON] = ("Me", "query")
        recorded = [per_call_us(lambda: record(environ, "200", 4e-4), 20000) for _ in range(5)]
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
    print(f"me, the whole request: {statistics.median(requests):7.1f} us")
    print(f"its record() at the edge: {statistics.median(recorded):7.2f} us")
    print(f"one count():          {count:7.2f} us")
    print(f"one GraphQL request's histograms: {observe:7.2f} us")
    print(f"their share of a flush: {flushed:7.2f} us per request (count and histograms)")


if __name__ == "__main__":
    main()
