"""Structured logs: one JSON object per line, each carrying the request id; an access log."""

from __future__ import annotations

import logging
import logging.config
import sys
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from flask import Flask, Response, g, has_request_context, request

ACCESS_LOGGER = "access"
_json = msgspec.json.Encoder()
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_access = logging.getLogger(ACCESS_LOGGER)


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


class ProductHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The product's handler on the root logger: its presence means logging is set up."""


def make_formatter(json_format: bool) -> logging.Formatter:
    """The product's log format: JSON lines, or text for development."""
    return JsonFormatter() if json_format else logging.Formatter(TEXT_FORMAT)


def log_config(
    json_format: bool, level: str = "INFO", server_loggers: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A ``dictConfig`` of the product's logging, for servers that configure logging so.

    ``server_loggers`` lose their own handlers and reach the product's, in the same format.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"product": {"()": make_formatter, "json_format": json_format}},
        "filters": {"request_id": {"()": RequestIdFilter}},
        "handlers": {
            "product": {
                "()": ProductHandler,
                "stream": sys.stderr,
                "formatter": "product",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level, "handlers": ["product"]},
        "loggers": {name: {"handlers": [], "propagate": True} for name in server_loggers},
    }


def configure_logging(json_format: bool, level: str = "INFO") -> None:
    """Send the process's logs to stderr, as JSON lines or text, unless already so.

    Checked on the root logger itself, not with a module flag: a forked worker inherits the
    master's flags, while the master's root may since have been replaced (by Alembic's
    ``fileConfig`` or a server's logging configuration).
    """
    root = logging.getLogger()
    if any(isinstance(handler, ProductHandler) for handler in root.handlers):
        return
    handler = ProductHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(make_formatter(json_format))
    root.addHandler(handler)
    root.setLevel(level)


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
