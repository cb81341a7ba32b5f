"""The edge: one WSGI layer around Flask for what every answer carries and leaves behind.

Its request id (web/request_ids.py), its security headers (web/security.py), its latency
in the metrics (web/request_metrics.py) and its access-log line (infra/logs.py). Around
Flask rather than in its hooks, so that answers Flask makes before or without any hook
(404, 405, refusals) have them too; and in one layer rather than four, each with its own
call and ``start_response`` closure. What each concern does stays in its module; the
order here is what the tests pin: the id first, headers and timing when the response
starts, the access line when Flask returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from time import perf_counter
from typing import Any

from flask import Flask

from infra import logs
from infra.logs import REQUEST_ID_ENVIRON
from web import StartResponse, WsgiApp
from web.request_ids import request_id_for
from web.request_metrics import record
from web.security import SECURE_SCHEMES, add_security_headers, sends_hsts


class Edge:
    """WSGI middleware: request id, security headers, metrics and access log of every answer."""

    def __init__(self, wsgi_app: WsgiApp, hsts: bool, access_log: bool) -> None:
        self.wsgi_app = wsgi_app
        self.hsts = hsts
        self.access_log = access_log

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Run the app with the request's id assigned; finish its answer; log it."""
        started = perf_counter()
        request_id = environ[REQUEST_ID_ENVIRON] = request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        secure = self.hsts and environ["wsgi.url_scheme"] in SECURE_SCHEMES
        answered: list[str] = []

        def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Flask starts the response while its request context is still active
            record(environ, status[:3], perf_counter() - started)
            headers.append(("X-Request-Id", request_id))
            add_security_headers(headers, secure)
            answered.append(status)
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, respond)
        if answered and self.access_log and logs.access_logged():
            logs.log_access(environ, answered[-1], perf_counter() - started)
        return result


def init_app(app: Flask) -> None:
    """Put the edge around the app (inside the proxy fix, which sets the scheme HSTS reads)."""
    config = app.config
    edge = Edge(app.wsgi_app, hsts=sends_hsts(config), access_log=config["ACCESS_LOG"])
    app.wsgi_app = edge  # type: ignore[method-assign]
