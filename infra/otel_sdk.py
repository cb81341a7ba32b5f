"""The OpenTelemetry SDK set up for this service; imported only when tracing is on."""

from __future__ import annotations

import logging
import os

from flask import Flask, request
from opentelemetry import trace
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from sqlalchemy.engine import Engine

from infra.tracing import TRACE_ID_ENVIRON

SERVICE_NAME = "seed-service"
_plain_records = logging.getLogRecordFactory()


def instrument(app: Flask, engine: Engine) -> trace.Tracer:
    """Spans for the app's requests (continuing a client's traceparent), Redis and SQL."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(_provider_from_env())
    FlaskInstrumentor().instrument_app(app)
    app.before_request(_remember_trace_id)  # after the instrumentor's: its span is current
    if not RedisInstrumentor().is_instrumented_by_opentelemetry:
        RedisInstrumentor().instrument()
    _instrument_engine(engine)
    logging.setLogRecordFactory(_record_with_trace_id)
    return trace.get_tracer(SERVICE_NAME)


def uninstrument() -> None:
    """Remove the process-wide hooks ``instrument`` added (Flask apps keep theirs)."""
    for instrumentor in (RedisInstrumentor(), SQLAlchemyInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    logging.setLogRecordFactory(_plain_records)


def _provider_from_env() -> TracerProvider:
    """A provider exporting as OTEL_TRACES_EXPORTER says: otlp (default), console or none."""
    resource = Resource.create(
        {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME}
    )
    provider = TracerProvider(resource=resource)
    exporter = _exporter(os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower())
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _exporter(name: str) -> SpanExporter | None:
    if name == "none":
        return None
    if name == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415 - only when used
        OTLPSpanExporter,
    )

    return OTLPSpanExporter()  # endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*


def _instrument_engine(engine: Engine) -> None:
    """Trace the app's engine. The instrumentor is a singleton that instruments once per
    process: a second app (tests) takes the tracing over from the first."""
    instrumentor = SQLAlchemyInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    # Its declared range stops below SQLAlchemy 2.1, which it traces through the same engine
    # events; tests/test_tracing.py checks the statements' spans.
    instrumentor.instrument(engine=engine, skip_dep_check=True)


def _record_with_trace_id(*args: object, **kwargs: object) -> logging.LogRecord:
    """A log record carrying ``trace_id`` when made inside a span (the JSON lines print it)."""
    record = _plain_records(*args, **kwargs)
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        record.trace_id = format(context.trace_id, "032x")
    return record


def _remember_trace_id() -> None:
    """Leave the request's trace id in its environ, for lines logged after its span ended."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        request.environ[TRACE_ID_ENVIRON] = format(context.trace_id, "032x")
