"""Per-request metrics: the route, method, status and latency of each answer, and its operation.

The edge (web/edge.py) calls ``record`` when Flask starts the response, while the request
context is still active; the values are read from the WSGI environ, where Werkzeug keeps
the request object and the GraphQL view its operation, not through Flask's proxies.
"""

from __future__ import annotations

from typing import Any

from infra import metrics
from infra.metrics import OPERATION_ENVIRON

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # 404s and the like: one label value, whatever the path
REQUEST_ENVIRON = "werkzeug.request"  # Werkzeug's Request sets it to itself


def record(environ: dict[str, Any], status: str, seconds: float) -> None:
    """Record the request of ``environ`` with ``status`` and its latency."""
    request = environ.get(REQUEST_ENVIRON)
    rule = request.url_rule if request is not None else None
    method = environ.get("REQUEST_METHOD", "").upper()
    method = method if method in METHODS else "other"
    route = rule.rule if rule is not None else UNMATCHED
    metrics.observe_request(route, method, status, seconds, environ.get(OPERATION_ENVIRON))
