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
from dataclasses import dataclass, field
from multiprocessing.util import Finalize
from threading import Lock, Thread
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# The request's GraphQL operation (name, type) in its WSGI environ, for its histogram.
OPERATION_ENVIRON = "seed.graphql_operation"
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


# Requests add to per-label-set tallies in memory (bucket counts and a sum, under one lock);
# a thread of each process moves them into the metrics every FLUSH_SECONDS: one write per
# bucket and label set touched instead of two to three per request. In multiprocess mode
# each write is a lock, a getpid and an mmap store: with the WSGI timer, ~9% of a
# `{ hello }` request's instructions. (A queue of per-request tuples, tried first, kept
# ~17k objects alive per second at 6k req/s: the collections they caused tripled p99.)
FLUSH_SECONDS = 1.0  # how late a worker's requests may show in a scrape another one answers
EXIT_WAIT_SECONDS = 2.0  # the most an exiting process waits for a flush already under way
BOUNDS = (*LATENCY_BUCKETS, float("inf"))  # the histograms' upper bounds, +Inf included
Tally = list[float]  # a histogram's counts per bucket, then its sum; a counter's one count


@dataclass
class _Pending:
    """What this process counted since its last flush, the lock guarding it, the flusher."""

    tallies: dict[tuple[Any, ...], Tally] = field(default_factory=dict)
    # Only the servers' workers (multiprocess files, where a write is dear) tally; one
    # process (`make run`, the tests) writes each observation at once and runs no thread.
    tallied: bool = field(default_factory=lambda: MULTIPROC_DIR in os.environ)
    lock: Lock = field(default_factory=Lock)
    flushing: Lock = field(default_factory=Lock)
    flusher_started: bool = False


_pending = _Pending()
# Labelled children by (metric, labels): a dict lookup instead of ``labels()``, which checks
# and locks on every call. Label values are bounded.
_children: dict[tuple[Any, ...], Any] = {}


def count(event: str, **labels: str) -> None:
    """Count one ``event`` (a key of ``COUNTERS``), e.g. ``count("login", outcome="ok")``."""
    key = (COUNTERS[event], *labels.items())
    if not _pending.tallied:
        _child(key[0], key[1:]).inc()
        return
    with _pending.lock:
        tally = _pending.tallies.get(key)
        if tally is None:
            tally = _pending.tallies[key] = [0.0]
        tally[0] += 1
    _ensure_flusher()


def observe_request(
    route: str, method: str, status: str, seconds: float, operation: tuple[str, str] | None
) -> None:
    """Record one HTTP request and, for a GraphQL one, its operation (name, type)."""
    if not _pending.tallied:
        _child(REQUESTS, (route, method, status)).observe(seconds)
        if operation is not None:
            labels = (operation_label(operation[0]), operation[1], status)
            _child(OPERATIONS, labels).observe(seconds)
        return
    with _pending.lock:
        _tally((REQUESTS, route, method, status), seconds)
        if operation is not None:
            name = operation_label(operation[0])
            _tally((OPERATIONS, name, operation[1], status), seconds)
    _ensure_flusher()


def _tally(key: tuple[Any, ...], seconds: float) -> None:
    tally = _pending.tallies.get(key)
    if tally is None:
        tally = _pending.tallies[key] = new_tally()
    add_to_tally(tally, seconds)


def new_tally() -> Tally:
    """An empty histogram tally: a count per bucket, then the sum."""
    return [0.0] * (len(BOUNDS) + 1)


def add_to_tally(tally: Tally, seconds: float) -> None:
    """Count ``seconds`` in the first bucket whose bound is at or above it, as observe() does."""
    tally[bisect_left(BOUNDS, seconds)] += 1
    tally[-1] += seconds


def flush(timeout: float = -1) -> bool:
    """Move what this process counted into the metrics (a scrape, the flusher, the exit).

    False when another flush held on past ``timeout`` seconds (-1: wait as long as it takes).
    """
    if not _pending.flushing.acquire(timeout=timeout):
        return False
    try:
        with _pending.lock:
            tallies, _pending.tallies = _pending.tallies, {}
        for key, tally in tallies.items():
            child = _child(key[0], key[1:])
            if isinstance(key[0], Histogram):
                record_tally(child, tally)
            else:
                child.inc(tally[0])
    finally:
        _pending.flushing.release()
    return True


def record_tally(child: Any, tally: Tally) -> None:
    """Add a histogram tally (counts per bucket, then the sum) to a labelled child."""
    for index, n in enumerate(tally[:-1]):
        if n:
            child._buckets[index].inc(n)  # prometheus_client's own values, as observe() adds
    child._sum.inc(tally[-1])


def _child(metric: Any, labels: tuple[Any, ...]) -> Any:
    """The labelled child: values in order for a histogram, (name, value) items for a counter."""
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        positional = isinstance(metric, Histogram)
        child = metric.labels(*labels) if positional else metric.labels(**dict(labels))
        _children[key] = child
    return child


def _ensure_flusher() -> None:
    if _pending.flusher_started:
        return
    with _pending.flushing:
        if not _pending.flusher_started:
            Thread(target=_flush_forever, name="metrics-flush", daemon=True).start()
            # A multiprocessing child (Granian's workers) ends in os._exit, past atexit:
            # its own exit function runs the finalizers registered in that process.
            Finalize(None, _flush_at_exit, exitpriority=10)
            _pending.flusher_started = True


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        _flush_logging_failure()


def _flush_logging_failure(timeout: float = -1) -> None:
    try:
        flush(timeout)
    except OSError:  # the metrics directory is gone (a shutdown): nothing left to write to
        log.warning("could not write the tallied metrics", exc_info=True)


def _flush_at_exit() -> None:
    """The last flush, bounded: an exit never waits on the flusher for long."""
    _flush_logging_failure(EXIT_WAIT_SECONDS)


def _after_fork() -> None:
    """A forked child has no flusher thread, and the parent's tallies are the parent's."""
    vars(_pending).update(vars(_Pending()))  # new locks too: the parent's may have been held


os.register_at_fork(after_in_child=_after_fork)
atexit.register(_flush_at_exit)


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
