"""The exact shapes and statuses of executed operations (pinned while the executor changes)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from flask.testing import FlaskClient


def _post(client: FlaskClient, payload: Mapping[str, object]) -> tuple[int, Any]:
    response = client.post("/graphql", json=payload)
    return response.status_code, response.get_json()


def test_bad_variable_value_is_a_400_request_error(client: FlaskClient) -> None:
    status, body = _post(
        client, {"query": "query Q($id: Int!) { post(id: $id) { id } }", "variables": {"id": "x"}}
    )
    assert status == 400
    assert set(body) == {"errors"}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "$id" in error["message"]


def test_missing_variable_is_a_400_request_error(client: FlaskClient) -> None:
    status, body = _post(client, {"query": "query Q($id: Int!) { post(id: $id) { id } }"})
    assert (status, set(body), len(body["errors"])) == (400, {"errors"}, 1)


def test_variable_errors_do_not_log_the_values_sent(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    query = "mutation L($o: UsernamePasswordInput!) { login(options: $o) { user { id } } }"
    variables = {"o": {"username": "alice", "password": 12345678901234}}
    with caplog.at_level(logging.DEBUG):
        status, _ = _post(client, {"query": query, "variables": variables})
    assert status == 400
    assert "12345678901234" not in caplog.text


def test_operation_name_picks_the_operation(client: FlaskClient) -> None:
    query = "query A { hello } query B { me { id } }"
    assert _post(client, {"query": query, "operationName": "B"}) == (200, {"data": {"me": None}})
    assert _post(client, {"query": query, "operationName": "A"}) == (
        200,
        {"data": {"hello": "hello world"}},
    )


def test_null_variables_and_operation_name_are_accepted(client: FlaskClient) -> None:
    payload = {"query": "{ hello }", "variables": None, "operationName": None}
    assert _post(client, payload) == (200, {"data": {"hello": "hello world"}})


def test_unknown_operation_name_is_a_400_request_error(client: FlaskClient) -> None:
    status, body = _post(
        client, {"query": "query A { hello } query B { hello }", "operationName": "C"}
    )
    assert status == 400
    assert set(body) == {"errors"}
    assert body["errors"][0]["message"] == "Unknown operation named 'C'."


def test_resolver_error_keeps_data_and_path(client: FlaskClient) -> None:
    status, body = _post(client, {"query": 'mutation { createPost(title: "x") { id } }'})
    assert status == 200
    assert body["data"] is None
    [error] = body["errors"]
    assert error["path"] == ["createPost"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
