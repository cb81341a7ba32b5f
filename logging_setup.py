"""Structured logs: one JSON object per line, each carrying the request id; an access log."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

ACCESS_LOGGER = "access"
_configured = False


class RequestIdFilter(logging.Filter):
    """Stamp every record made during a request with that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add ``request_id`` (or "-") to the record."""
        if not hasattr(record, "request_id"):
            in_request = has_request_context() and "request_id" in g
            record.request_id = g.request_id if in_request else "-"
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON, with the exception text when there is one."""
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "requestId": getattr(record, "request_id", "-"),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(json_format: bool, level: str = "INFO") -> None:
    """Send the process's logs to stderr, as JSON lines or text, once per process."""
    global _configured  # noqa: PLW0603 - logging is process-wide by nature
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    text = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter(text))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    _configured = True


def init_app(app: Flask) -> None:
    """Configure logging for the app and, when enabled, log every request."""
    configure_logging(app.config["LOG_FORMAT"] == "json", app.config["LOG_LEVEL"])
    if app.config["ACCESS_LOG"]:
        app.before_request(_start_timer)
        app.after_request(_log_access)


def _start_timer() -> None:
    g.started = time.perf_counter()


def _log_access(response: Response) -> Response:
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    fields = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "durationMs": round(elapsed_ms, 2),
        "remoteAddr": request.remote_addr,
    }
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %s", request.method, request.path, response.status_code, extra={"fields": fields}
    )
    return response
