"""Per-request metrics: a thin WSGI wrapper that times each request to its response headers."""

from __future__ import annotations

from collections.abc import Iterable
from time import perf_counter
from typing import Any

from flask import Flask, g, request

from infra import metrics
from web import StartResponse, WsgiApp

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # 404s and the like: one label value, whatever the path


class RequestMetrics:
    """Wraps ``app.wsgi_app``; records route, method, status and latency of every request."""

    def __init__(self, wsgi_app: WsgiApp) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Run the app, recording the request when it starts its response."""
        started = perf_counter()

        def timed(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Flask starts the response while its request context is still active
            record(status[:3], perf_counter() - started)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, timed)


def record(status: str, seconds: float) -> None:
    """Record the current request with ``status`` and its latency."""
    rule = request.url_rule
    method = request.method if request.method in METHODS else "other"
    route = rule.rule if rule is not None else UNMATCHED
    metrics.observe_request(route, method, status, seconds, g.get("graphql_operation"))


def init_app(app: Flask) -> None:
    """Time every request of the app."""
    app.wsgi_app = RequestMetrics(app.wsgi_app)  # type: ignore[method-assign]
