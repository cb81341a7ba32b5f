"""Tracing with the real OpenTelemetry SDK and its in-memory exporter: a span per request
(continuing the client's traceparent), per GraphQL operation, per Redis command and per SQL
statement, and the trace id in the log lines made during the request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import request
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from infra import otel_sdk, tracing
from infra.logs import ACCESS_LOGGER, JsonFormatter
from tests.helpers import ME, REGISTER

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The SDK's in-memory exporter behind this process's tracer provider."""
    memory = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    tracing.stop()


@pytest.fixture
def traced_app(app_factory, exporter, monkeypatch):
    """An app built with tracing configured (spans go to the in-memory exporter)."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    app = app_factory(ACCESS_LOG=True)
    exporter.clear()
    return app


def in_trace(exporter: InMemorySpanExporter) -> list[Any]:
    """The finished spans of the client's trace."""
    return [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == TRACE_ID]


def test_a_request_is_one_trace_continued_from_the_client(traced_app, exporter, caplog) -> None:
    client = traced_app.test_client()
    with client, caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):  # keeps the request
        response = client.post(
            "/graphql",
            json={"query": REGISTER, "variables": {"username": "alice", "password": "pw pw pw"}},
            headers={"traceparent": TRACEPARENT},
        )
        # for lines logged outside the span, at the WSGI level
        assert request.environ[tracing.TRACE_ID_ENVIRON] == TRACE_ID
    assert response.status_code == 200 and response.get_json()["data"]["register"]["user"]
    spans = in_trace(exporter)
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.parent is not None and f"{server.parent.span_id:016x}" == PARENT_ID
    assert server.attributes["http.route"] == "/graphql"

    [operation] = [s for s in spans if s.name == "mutation Register"]
    assert operation.attributes["graphql.operation.name"] == "Register"
    assert operation.attributes["graphql.operation.type"] == "mutation"
    assert operation.parent.span_id == server.context.span_id

    redis_spans = [s for s in spans if s.attributes.get("db.system") == "redis"]
    sql_spans = [s for s in spans if s.attributes.get("db.system") in {"sqlite", "postgresql"}]
    assert redis_spans, [s.name for s in spans]
    assert any("INSERT" in s.attributes.get("db.statement", "") for s in sql_spans)

    [access] = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert json.loads(JsonFormatter().format(access))["traceId"] == TRACE_ID


def test_log_lines_of_a_request_carry_its_trace_id(app_factory, exporter, monkeypatch, caplog):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    client = app_factory(REDIS_URL="redis://127.0.0.1:1/0").test_client()  # nothing there
    client.set_cookie("qid", "A" * 22)
    with caplog.at_level(logging.WARNING):
        response = client.get("/me", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 503
    [outage] = [r for r in caplog.records if "backing service unavailable" in r.getMessage()]
    assert json.loads(JsonFormatter().format(outage))["traceId"] == TRACE_ID
    assert "traceId" not in json.loads(JsonFormatter().format(logging.makeLogRecord({})))


def test_anonymous_queries_are_named_so(traced_app, exporter) -> None:
    response = traced_app.test_client().post(
        "/graphql", json={"query": "{ hello }"}, headers={"traceparent": TRACEPARENT}
    )
    assert response.status_code == 200
    [operation] = [s for s in in_trace(exporter) if s.name == "query anonymous"]
    assert operation.attributes["graphql.operation.type"] == "query"


def test_tracing_stays_off_without_otel_settings(app_factory, exporter, monkeypatch) -> None:
    tracing.stop()
    for name in tracing.TRIGGERS:
        monkeypatch.delenv(name, raising=False)
    app = app_factory()
    exporter.clear()
    assert app.test_client().post("/graphql", json={"query": "{ hello }"}).status_code == 200
    assert exporter.get_finished_spans() == ()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("none", type(None)), ("console", ConsoleSpanExporter), ("otlp", OTLPSpanExporter)],
)
def test_exporter_follows_otel_traces_exporter(name: str, kind: type) -> None:
    assert isinstance(otel_sdk._exporter(name), kind)


def test_provider_from_the_environment_names_the_service(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    provider = otel_sdk._provider_from_env()
    assert provider.resource.attributes["service.name"] == "seed-service"
    provider.shutdown()


def test_the_session_read_is_traced(traced_app, exporter) -> None:
    """The lean GET steps aside for the instrumented client while tracing is on."""
    client = traced_app.test_client()
    variables = {"username": "carol", "password": "pw pw pw"}
    client.post("/graphql", json={"query": REGISTER, "variables": variables})
    exporter.clear()
    response = client.post("/graphql", json={"query": ME}, headers={"traceparent": TRACEPARENT})
    assert response.get_json()["data"]["me"]["username"] == "carol"
    commands = [s.name for s in in_trace(exporter) if s.attributes.get("db.system") == "redis"]
    assert commands == ["GET"], commands
