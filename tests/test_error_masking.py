"""Unexpected exceptions reach clients as a bare INTERNAL_SERVER_ERROR with a request id.

The detail goes to the log under that id; errors raised on purpose keep message and code.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from graphql import GraphQLError, located_error, parse
from sqlalchemy import text

from extensions import db
from graphql_runtime.executor import graphql_runtime
from infra.logs import REQUEST_ID_ENVIRON
from tests.helpers import CREATE_POST, GraphQLClient
from tests.side_effects import table_count

SECRET = "hunter2-db-password"


def masked(error: dict[str, Any], request_id: str) -> None:
    """Assert ``error`` is the generic internal error, carrying only ``request_id``."""
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert set(error) <= {"message", "extensions", "locations", "path"}


def test_database_error_in_a_resolver_is_masked_and_logged(
    app: Flask, gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The session outlives its user: the insert breaks the post -> user foreign key, a
    # database error that is not an outage.
    gql.register("alice")
    with app.app_context():
        db.session.execute(text('DELETE FROM "user"'))
        db.session.commit()
    with caplog.at_level(logging.ERROR, logger="graphql_runtime.executor"):
        response = gql.client.post(
            "/graphql",
            json={"query": CREATE_POST, "variables": {"title": "orphan"}},
            headers={"X-Request-Id": "req-fk-1"},
        )
    assert response.status_code < 500
    body = response.get_json()
    [error] = body["errors"]
    masked(error, "req-fk-1")
    assert error["path"] == ["createPost"]
    raw = response.get_data(as_text=True).lower()
    for leak in ("foreign", "constraint", "insert", "integrity", "sql", "fk_", "traceback"):
        assert leak not in raw
    [record] = [r for r in caplog.records if "req-fk-1" in r.getMessage()]
    assert record.exc_info is not None and "IntegrityError" in repr(record.exc_info[1])
    assert table_count(app, "post") == 0
    assert gql("{ hello }") == {"data": {"hello": "hello world"}}  # the next request works


def _format(app: Flask, raised: Exception) -> dict[str, Any]:
    """Format ``raised`` as the executor would after a resolver raised it for ``me``."""
    document = parse("{ me { id } }")
    error = located_error(raised, [document.definitions[0]], ["me"])
    with app.test_request_context(
        "/graphql", environ_base={REQUEST_ID_ENVIRON: "req-direct-7"}
    ):  # as web/request_ids.py leaves it
        return graphql_runtime.executor.format_error(error)


def test_unexpected_exception_text_never_reaches_the_client(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="graphql_runtime.executor"):
        formatted = _format(app, KeyError(f"password={SECRET}"))
    masked(formatted, "req-direct-7")
    assert SECRET not in str(formatted)
    [record] = caplog.records
    assert "req-direct-7" in record.getMessage()
    assert SECRET in caplog.text  # the detail is in the log, under the request id


def test_graphql_errors_raised_on_purpose_keep_message_and_code(app: Flask) -> None:
    raised = GraphQLError("post title is taken", extensions={"code": "CONFLICT"})
    formatted = _format(app, raised)
    assert formatted["message"] == "post title is taken"
    assert formatted["extensions"] == {"code": "CONFLICT"}
    assert formatted["path"] == ["me"]


def test_service_errors_keep_message_and_code(gql: GraphQLClient) -> None:
    [error] = gql(CREATE_POST, expect_errors=True, title="hello")["errors"]
    assert error["message"] == "not authenticated"
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


def test_bad_variables_are_not_logged_with_their_values(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Alembic's fileConfig (run in-process by the test database fixture, and by the gunicorn
    # master) re-enables existing loggers; Ariadne would then log each of these at ERROR.
    query = "mutation M($o: UsernamePasswordInput!) { login(options: $o) { user { id } } }"
    with caplog.at_level(logging.DEBUG):
        response = gql.post(
            query, expect_errors=True, o={"username": "alice", "password": SECRET, "remember": True}
        )
    assert response.status_code == 400
    assert "data" not in response.get_json()  # a request error: execution never started
    assert SECRET not in caplog.text
