"""Prometheus metrics: one small API (``count``, ``observe_request``, ``flush``) and the exposition.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``serving.prepare_metrics_dir`` sets it before the
server forks or spawns workers), every worker writes its values to files there and a scrape
of any worker sums them all; without it (``flask run``, tests in one process) the values
live in this process.
"""

from __future__ import annotations

import atexit
import logging
import os
import time
from bisect import bisect_left
from collections import Counter as Counter_
from collections import deque
from dataclasses import dataclass, field
from threading import Lock, Thread
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Seconds; a logged-in `me` takes ~0.4 ms, a login's argon2 hundreds of milliseconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Operation names come from clients: past this many distinct ones a process reports "other",
# so a client cannot grow the metrics without bound.
MAX_OPERATION_NAMES = 200
OTHER = "other"
log = logging.getLogger(__name__)

COUNTERS: dict[str, Counter] = {
    "login": Counter("logins", "Login attempts by outcome", ["outcome"]),
    "registration": Counter("registrations", "Registrations by outcome", ["outcome"]),
    "rate_limited": Counter("rate_limit_refusals", "Attempts refused by a rate limit", ["action"]),
    "outage": Counter("backing_service_outages", "Requests met by an outage", ["service"]),
    "document_cache": Counter(
        "graphql_document_cache", "GraphQL document cache lookups", ["outcome"]
    ),
    # for graphql_runtime/persisted.py: outcome = hit (known hash), miss (not found, the
    # client resends the text), registered (text stored under its hash), refused
    "persisted_query": Counter(
        "graphql_persisted_queries", "Persisted-query lookups by outcome", ["outcome"]
    ),
}
REQUESTS = Histogram(
    "http_request_duration_seconds",
    "HTTP requests by route, method and status: latency to the response headers",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
OPERATIONS = Histogram(
    "graphql_operation_duration_seconds",
    "GraphQL requests by operation name, type and HTTP status: latency",
    ["operation", "type", "status"],
    buckets=LATENCY_BUCKETS,
)
_operation_names: set[str] = set()
_names_lock = Lock()


# Requests queue their observations here (a deque's append is atomic); a thread of each
# process records them every FLUSH_SECONDS, summed per label set: one write per bucket and
# label set touched instead of two to three per request. In multiprocess mode each write is
# a lock, a getpid and an mmap store: together ~9% of a `{ hello }` request's instructions.
FLUSH_SECONDS = 1.0  # how late a worker's requests may show in a scrape another one answers
# Observations recorded between two yields of the GIL (~0.4 ms): a second's queue recorded
# in one go held it ~10 ms at 6k req/s, and the requests waiting on it tripled Granian's p99.
FLUSH_CHUNK = 256
MAX_QUEUED = 100_000  # past this (no flusher running?) the oldest observations are dropped
# (metric, its label values in order (histograms) or (name, value) items (counters), amount)
Queued = tuple[Any, tuple[Any, ...], float]
_queue: deque[Queued] = deque(maxlen=MAX_QUEUED)


@dataclass
class _Flusher:
    """Whether this process's flusher thread runs, and the lock flushes take."""

    started: bool = False
    lock: Lock = field(default_factory=Lock)


_flusher = _Flusher()
# Labelled children by (metric, labels): a dict lookup instead of ``labels()``, which checks
# and locks on every call. Label values are bounded.
_children: dict[tuple[Any, ...], Any] = {}


def count(event: str, **labels: str) -> None:
    """Count one ``event`` (a key of ``COUNTERS``), e.g. ``count("login", outcome="ok")``."""
    _queue.append((COUNTERS[event], tuple(labels.items()), 1.0))
    _ensure_flusher()


def observe_request(
    route: str, method: str, status: str, seconds: float, operation: tuple[str, str] | None
) -> None:
    """Record one HTTP request and, for a GraphQL one, its operation (name, type)."""
    _queue.append((REQUESTS, (route, method, status), seconds))
    if operation is not None:
        _queue.append((OPERATIONS, (operation_label(operation[0]), operation[1], status), seconds))
    _ensure_flusher()


def flush() -> None:
    """Record every queued observation now (a scrape, the flusher thread, the exit)."""
    with _flusher.lock:
        for done in range(0, len(_queue), FLUSH_CHUNK):  # what is queued now, chunk by chunk
            if done:
                time.sleep(0)  # let the request threads run: a busy second takes ~10 ms
            _record(_drain(FLUSH_CHUNK))


def _drain(limit: int) -> dict[tuple[Any, tuple[Any, ...]], list[float]]:
    """Up to ``limit`` queued observations, grouped by metric and labels."""
    totals: dict[tuple[Any, tuple[Any, ...]], list[float]] = {}
    for _ in range(min(limit, len(_queue))):
        metric, labels, amount = _queue.popleft()
        totals.setdefault((metric, labels), []).append(amount)
    return totals


def _record(totals: dict[tuple[Any, tuple[Any, ...]], list[float]]) -> None:
    for (metric, labels), amounts in totals.items():
        child = _child(metric, labels)
        if isinstance(metric, Histogram):
            observe_many(child, amounts)
        else:
            child.inc(len(amounts))


def observe_many(child: Any, amounts: list[float]) -> None:
    """What ``child.observe`` of each amount records, in one write per bucket touched."""
    bounds = child._upper_bounds  # prometheus_client's own, as observe() reads them
    per_bucket = Counter_(bisect_left(bounds, amount) for amount in amounts)
    child._sum.inc(sum(amounts))
    for index, n in per_bucket.items():
        child._buckets[index].inc(n)


def _child(metric: Any, labels: tuple[Any, ...]) -> Any:
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        positional = isinstance(metric, Histogram)
        child = metric.labels(*labels) if positional else metric.labels(**dict(labels))
        _children[key] = child
    return child


def _ensure_flusher() -> None:
    if _flusher.started:
        return
    with _flusher.lock:
        if not _flusher.started:
            Thread(target=_flush_forever, name="metrics-flush", daemon=True).start()
            _flusher.started = True


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        _flush_logging_failure()


def _flush_logging_failure() -> None:
    try:
        flush()
    except OSError:  # the metrics directory is gone (a shutdown): nothing left to write to
        log.warning("could not record the queued metrics", exc_info=True)


def _after_fork() -> None:
    """A forked child has no flusher thread, and the parent's queue is the parent's to record."""
    _flusher.started, _flusher.lock = False, Lock()
    _queue.clear()


os.register_at_fork(after_in_child=_after_fork)
atexit.register(_flush_logging_failure)


def operation_label(name: str) -> str:
    """``name`` as a label value, or "other" once this process has seen too many names."""
    if name in _operation_names:
        return name
    with _names_lock:
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            return OTHER
        _operation_names.add(name)
    return name


def exposition(accept: str) -> tuple[bytes, str]:
    """Every worker's (or this process's) metrics in the format ``accept`` asks for, and
    its content type: Prometheus text by default, OpenMetrics on request."""
    flush()
    encode, content_type = choose_encoder(accept)
    return encode(_registry()), content_type


def _registry() -> CollectorRegistry:
    path = os.environ.get(MULTIPROC_DIR)
    if not path:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    return registry


def mark_process_dead(pid: int) -> None:
    """Let a dead worker's live-gauge files go (gunicorn's ``child_exit``); counters stay."""
    if os.environ.get(MULTIPROC_DIR):
        multiprocess.mark_process_dead(pid)
