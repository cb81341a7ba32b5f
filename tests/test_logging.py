"""Structured logs: JSON lines with the request id, and an access log."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infra import logs
from infra.logs import (
    ACCESS_FORMAT,
    ACCESS_LOGGER,
    JsonFormatter,
    ProductHandler,
    RequestIdFilter,
    access_record,
    writes_through,
)


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


CLOCK_FIELDS = {"created", "msecs", "relativeCreated"}


def made_record(args: tuple[object, ...], extra: dict[str, object]) -> logging.LogRecord:
    """The oracle: the record ``makeRecord`` makes for an access line."""
    logger = logging.getLogger(ACCESS_LOGGER)
    return logger.makeRecord(
        ACCESS_LOGGER, logging.INFO, logs.__file__, 0, ACCESS_FORMAT, args, None, extra=extra
    )


@pytest.mark.parametrize("threads_logged", [False, True])
def test_an_access_record_is_the_record_makerecord_makes(
    threads_logged: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging, "logThreads", threads_logged)
    monkeypatch.setattr(logging, "logProcesses", False)
    monkeypatch.setattr(logging, "logMultiprocessing", False)
    args = ("POST", "/graphql", 200)
    extra: dict[str, Any] = {"fields": {"status": 200}, "request_id": "r-1"}
    for _ in range(2):  # the first made from nothing, the next from the template
        before = time.time()
        record, expected = access_record(args, extra), made_record(args, extra)
        assert set(vars(record)) == set(vars(expected))
        assert {k: v for k, v in vars(record).items() if k not in CLOCK_FIELDS} == {
            k: v for k, v in vars(expected).items() if k not in CLOCK_FIELDS
        }
        assert before <= record.created <= expected.created
        assert record.msecs == int((record.created % 1) * 1000)
        later = (expected.created - record.created) * 1000
        assert record.relativeCreated == pytest.approx(expected.relativeCreated - later, abs=1e-3)
        assert record.getMessage() == "POST /graphql 200"


def test_an_access_record_comes_from_the_factory_tracing_installs() -> None:
    made: list[logging.LogRecord] = []
    plain = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append(plain(*args, **kwargs))
        return made[-1]

    logging.setLogRecordFactory(factory)
    try:
        record = access_record(("GET", "/me", 200), {"request_id": "r-2"})
    finally:
        logging.setLogRecordFactory(plain)
    assert made == [record] and record.request_id == "r-2"  # type: ignore[attr-defined]


@pytest.mark.parametrize("buffering", [0, -1])
def test_the_handler_line_reaches_the_file_at_once(tmp_path: Path, buffering: int) -> None:
    """stderr (text written through to an unbuffered file) and a buffered file alike."""
    path = tmp_path / "log"
    raw = open(path, "wb", buffering=buffering)  # noqa: SIM115 - closed below
    stream = io.TextIOWrapper(raw, write_through=buffering == 0)
    handler = ProductHandler(stream)
    assert writes_through(stream) is (buffering == 0)
    try:
        for n in range(2):
            handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, "line %d", (n,), None))
            assert path.read_text().splitlines()[-1] == f"line {n}"
    finally:
        stream.close()
