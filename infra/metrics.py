"""Prometheus metrics: one small API (``count``, ``observe_request``) and the exposition.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``serving.prepare_metrics_dir`` sets it before the
server forks or spawns workers), every worker writes its values to files there and a scrape
of any worker sums them all; without it (``flask run``, tests in one process) the values
live in this process.
"""

from __future__ import annotations

import os
from threading import Lock
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


# Labelled children by (metric, label values): a dict lookup instead of ``labels()``, which
# checks and locks on every call (half the cost of a count). Label values are bounded.
_children: dict[tuple[object, ...], Any] = {}


def count(event: str, **labels: str) -> None:
    """Count one ``event`` (a key of ``COUNTERS``), e.g. ``count("login", outcome="ok")``."""
    key = (event, *labels.values())
    child = _children.get(key)
    if child is None:
        child = _children[key] = COUNTERS[event].labels(**labels)
    child.inc()


def observe_request(
    route: str, method: str, status: str, seconds: float, operation: tuple[str, str] | None
) -> None:
    """Record one HTTP request and, for a GraphQL one, its operation (name, type)."""
    _observe(REQUESTS, (route, method, status), seconds)
    if operation is not None:
        _observe(OPERATIONS, (operation_label(operation[0]), operation[1], status), seconds)


def _observe(histogram: Histogram, values: tuple[str, ...], seconds: float) -> None:
    key = (histogram, *values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = histogram.labels(*values)
    child.observe(seconds)


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
