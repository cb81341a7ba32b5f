"""Structured logs: one JSON object per line, each carrying the request id; an access log."""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime

import msgspec
from flask import Flask, Response, g, has_request_context, request

ACCESS_LOGGER = "access"
_json = msgspec.json.Encoder()
_access = logging.getLogger(ACCESS_LOGGER)
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
        return _json.encode(payload).decode()


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
    if not _access.isEnabledFor(logging.INFO):
        return response
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    fields = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "durationMs": round(elapsed_ms, 2),
        "remoteAddr": request.remote_addr,
    }
    args = (fields["method"], fields["path"], fields["status"])
    # makeRecord + handle rather than .info(), which walks the stack for the caller's file
    # and line that no format here prints: a third of the access log's cost
    record = _access.makeRecord(
        ACCESS_LOGGER, logging.INFO, __file__, 0, "%s %s %s", args, None, extra={"fields": fields}
    )
    _access.handle(record)
    return response
