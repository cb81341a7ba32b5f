"""Structured logs: one JSON object per line, each carrying the request id; an access log."""

from __future__ import annotations

import functools
import io
import logging
import logging.config
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from flask import Flask, has_request_context, request

from infra.tracing import TRACE_ID_ENVIRON

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

ACCESS_LOGGER = "access"
ACCESS_FORMAT = "%s %s %s"  # method, path, status
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
    """The product's handler on the root logger: its presence means logging is set up.

    It flushes only a stream that holds text back: stderr writes each line through to its
    file already, and a flush per line (a lock and two calls) was a tenth of the access log.
    """

    _direct: object = None  # the last stream found to write straight through

    def flush(self) -> None:
        """Flush the stream, unless it keeps nothing to flush."""
        stream = self.stream
        if stream is self._direct:
            return
        if writes_through(stream):
            self._direct = stream
            return
        super().flush()


def writes_through(stream: object) -> bool:
    """Whether text written to ``stream`` reaches its file at once (stderr's case)."""
    buffer = getattr(stream, "buffer", None)
    return bool(getattr(stream, "write_through", False)) and isinstance(buffer, io.FileIO)


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
    extra = {"fields": fields, "request_id": environ.get(REQUEST_ID_ENVIRON, "-")}
    record = access_record((method, path, code), extra)
    trace_id = environ.get(TRACE_ID_ENVIRON)  # the request's span has ended by now
    if trace_id:
        record.trace_id = trace_id
    _access.handle(record)


def access_record(args: tuple[Any, ...], extra: dict[str, Any]) -> logging.LogRecord:
    """An access line's record: what ``makeRecord`` would make, at a seventh of its cost.

    Every access record has the same logger, level, format and place; only its time and
    values differ. So LogRecord's own fields are copied from one record made once, rather
    than worked out per line (LogRecord() splits a path and reads the clock twice), unless
    records carry per-thread fields or come from another factory (tracing's).
    """
    if logging.logThreads or logging.logProcesses or logging.logMultiprocessing:
        return _made_access_record(args, extra)
    if logging.getLogRecordFactory() is not logging.LogRecord:
        return _made_access_record(args, extra)
    template = _template_fields()
    record: logging.LogRecord = logging.LogRecord.__new__(logging.LogRecord)
    fields = record.__dict__
    fields.update(template)
    fields.update(extra)
    created = time.time()
    record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
    record.relativeCreated = template["relativeCreated"] + (created - template["created"]) * 1000
    record.args = args
    return record


def _made_access_record(args: tuple[Any, ...], extra: dict[str, Any]) -> logging.LogRecord:
    return _access.makeRecord(
        ACCESS_LOGGER, logging.INFO, __file__, 0, ACCESS_FORMAT, args, None, extra=extra
    )


@functools.cache
def _template_fields() -> dict[str, Any]:
    return dict(_made_access_record((), {}).__dict__)
