"""Structured logs: JSON lines with the request id, and an access log."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from infra.logs import JsonFormatter, RequestIdFilter


def test_access_log_is_structured_with_the_request_id(
    app_factory, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_factory(env={"ACCESS_LOG": "1"})
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="access"):
        response = app.test_client().get("/me", headers={"X-Request-Id": "req-42"})
    [record] = [r for r in caplog.records if r.name == "access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["requestId"] == "req-42" == response.headers["X-Request-Id"]
    assert line["method"] == "GET" and line["path"] == "/me" and line["status"] == 200
    assert line["durationMs"] >= 0 and line["level"] == "INFO"


def test_error_log_carries_the_request_id_and_the_detail_stays_server_side(
    app_factory, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_factory()

    def boom() -> str:
        raise KeyError("db password=hunter2")

    app.add_url_rule("/test-only/boom", view_func=boom)

    caplog.handler.addFilter(RequestIdFilter())
    response = app.test_client().get("/test-only/boom", headers={"X-Request-Id": "req-7"})
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "message": "Internal server error",
        "requestId": "req-7",
    }
    assert "hunter2" not in response.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.name == "blueprints.errors"]
    line = json.loads(JsonFormatter().format(record))
    assert line["requestId"] == "req-7" and "hunter2" in line["exception"]


@pytest.mark.parametrize(
    "created",
    [86400.25, 1764660000.0, 1764660000.9995, 1764660001.001, 1764660000.9999997, 1.0000004],
)
def test_json_time_is_the_records_utc_instant_to_the_millisecond(created: float) -> None:
    """The same text as datetime.isoformat gives, also when the second's text is reused."""
    formatter = JsonFormatter()
    for moment in (created - 1, created, created):  # a different second first, then the same
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", None, None)
        record.created = moment
        expected = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
        assert json.loads(formatter.format(record))["time"] == expected
