"""OpenTelemetry tracing: off unless ``OTEL_*`` says where spans go (the ``otel`` extra).

The SDK is imported only when tracing is on (``infra/otel_sdk.py``), so the default
install never needs it; off, ``span`` is a no-op and costs a global lookup.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from flask import Flask
from sqlalchemy.engine import Engine

# Any of these set (and OTEL_SDK_DISABLED not "true") turns tracing on.
TRIGGERS = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
TRACE_ID_ENVIRON = "seed.trace_id"  # the request's trace id, for WSGI-level log lines
_tracer: Any = None  # an opentelemetry Tracer once tracing is on in this process


def enabled(env: Mapping[str, str]) -> bool:
    """Whether the environment configures tracing."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(name, "").strip() for name in TRIGGERS)


def init_app(app: Flask, engine: Engine, env: Mapping[str, str] | None = None) -> None:
    """Trace the app's requests, Redis commands and SQL statements when configured."""
    global _tracer  # noqa: PLW0603 - the tracer provider is process-wide by nature
    if not enabled(os.environ if env is None else env):
        return
    from infra import otel_sdk  # noqa: PLC0415 - the SDK is imported only when tracing is on

    _tracer = otel_sdk.instrument(app, engine)


def active() -> bool:
    """Whether this process is tracing (so a span's name and attributes are worth building)."""
    return _tracer is not None


def span(name: str, attributes: Mapping[str, str]) -> AbstractContextManager[Any]:
    """A span around the block when tracing is on; else nothing."""
    if _tracer is None:
        return nullcontext()
    return _tracer.start_as_current_span(name, attributes=attributes)  # type: ignore[no-any-return]


def stop() -> None:
    """Undo the process-wide instrumentation (Redis, SQL, log records), e.g. after a test."""
    global _tracer  # noqa: PLW0603
    if _tracer is None:
        return
    from infra import otel_sdk  # noqa: PLC0415 - as in init_app

    otel_sdk.uninstrument()
    _tracer = None
