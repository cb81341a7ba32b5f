"""Structured logs: one JSON object per line, each carrying the request id; an access log."""

from __future__ import annotations

import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from flask import Flask, has_request_context, request

from infra.tracing import TRACE_ID_ENVIRON

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

ACCESS_LOGGER = "access"
REQUEST_ID_ENVIRON = "seed.request_id"  # set by the edge (web/edge.py) before Flask runs
_json = msgspec.json.Encoder()
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_access = logging.getLogger(ACCESS_LOGGER)


class RequestIdFilter(logging.Filter):
    """Stamp every record made during a request with that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add ``request_id`` (or "-") to the record."""
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def current_request_id(default: str = "-") -> str:
    """The id of the request being handled; ``default`` outside a request or before its id."""
    if not has_request_context():
        return default
    return str(request.environ.get(REQUEST_ID_ENVIRON, default))


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line."""

    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON, with the exception text when there is one."""
        payload = {
            "time": self.utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "requestId": getattr(record, "request_id", "-"),
        }
        trace_id = getattr(record, "trace_id", None)  # set inside a span (infra/otel_sdk.py)
        if trace_id:
            payload["traceId"] = trace_id
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return _json.encode(payload).decode()

    def utc_time(self, record: logging.LogRecord) -> str:
        """The record's time in ISO 8601, UTC, to the millisecond (as datetime.isoformat).

        The text of the second is kept: most records of a busy process share it with the
        one before, and building a datetime per record was a sixth of an access log line.
        """
        second = int(record.created)
        micros = round((record.created - second) * 1_000_000)  # datetime's rounding
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        known, text = self._second
        if known != second:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (second, text)
        return f"{text}.{micros // 1000:03d}+00:00"


class ProductHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The product's handler on the root logger: its presence means logging is set up."""


def make_formatter(json_format: bool) -> logging.Formatter:
    """The product's log format: JSON lines, or text for development."""
    skip_unused_record_fields()
    return JsonFormatter() if json_format else logging.Formatter(TEXT_FORMAT)


def skip_unused_record_fields() -> None:
    """Stop every log record looking up its thread and process names, which no format here
    prints: the logging HOWTO's "Optimization", three quarters of a record's creation."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


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
    """Configure logging for the app (the edge, web/edge.py, writes the access log)."""
    configure_logging(app.config["LOG_FORMAT"] == "json", app.config["LOG_LEVEL"])


def access_logged() -> bool:
    """Whether access-log lines are wanted now (the access logger enabled for INFO)."""
    return _access.isEnabledFor(logging.INFO)


def log_access(environ: WSGIEnvironment, status: str, seconds: float) -> None:
    """One access-log line for the request of ``environ``, answered ``status`` in ``seconds``."""
    method = environ.get("REQUEST_METHOD", "").upper()
    # the path as werkzeug's request.path reads it: WSGI's latin-1 string, decoded as UTF-8
    path = "/" + environ.get("PATH_INFO", "").encode("latin1").decode(errors="replace").lstrip("/")
    code = int(status[:3])
    fields = {
        "method": method,
        "path": path,
        "status": code,
        "durationMs": round(seconds * 1000, 2),
        "remoteAddr": environ.get("REMOTE_ADDR"),
    }
    request_id = environ.get(REQUEST_ID_ENVIRON, "-")
    # makeRecord + handle rather than .info(), which walks the stack for the caller's file
    # and line that no format here prints: a third of the access log's cost
    record = _access.makeRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        0,
        "%s %s %s",
        (method, path, code),
        None,
        extra={"fields": fields, "request_id": request_id},
    )
    trace_id = environ.get(TRACE_ID_ENVIRON)  # the request's span has ended by now
    if trace_id:
        record.trace_id = trace_id
    _access.handle(record)
