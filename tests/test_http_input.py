"""Malformed requests to /graphql get a clear 4xx JSON error, never a 500."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.helpers import GraphQLClient


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{bad", "application/json", 400),
        (b"", "application/json", 400),
        (b"null", "application/json", 400),
        (b"3", "application/json", 400),
        (b'"x"', "application/json", 400),
        (b"[]", "application/json", 400),
        (b'[{"query": "{ hello }"}]', "application/json", 400),
        (b'{"query": 1}', "application/json", 400),
        (b'{"query": ""}', "application/json", 400),
        (b'{"query": "{ hello }", "variables": "x"}', "application/json", 400),
        (b'{"query": "{ hello }", "variables": [1]}', "application/json", 400),
        (b'{"query": "{ hello }", "operationName": 3}', "application/json", 400),
        (b'{"query": "\\ud800"}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'{"query": "{ hello }"}', "text/plain", 415),
        (b"query=%7B+hello+%7D", "application/x-www-form-urlencoded", 415),
    ],
)
def test_bad_bodies_get_json_errors(
    client: FlaskClient, body: bytes, content_type: str, status: int
) -> None:
    response = client.post("/graphql", data=body, content_type=content_type)
    assert response.status_code == status
    assert response.is_json
    payload = response.get_json()
    assert "errors" in payload or "error" in payload


def test_graphql_errors_are_400_json(gql: GraphQLClient) -> None:
    for query in ("{ hello", "{ nope }", "{ me { id } } { hello }", "subscription { x }"):
        response = gql.post(query, expect_errors=True)
        assert response.status_code == 400, query
        assert response.get_json()["errors"], query


def test_unknown_operation_name_is_a_client_error(client: FlaskClient) -> None:
    response = client.post(
        "/graphql", json={"query": "query A { hello } query B { hello }", "operationName": "C"}
    )
    assert response.status_code in (200, 400)
    assert response.get_json()["errors"]


def test_charset_parameter_is_accepted(client: FlaskClient) -> None:
    response = client.post(
        "/graphql", data=b'{"query": "{ hello }"}', content_type="application/json; charset=utf-8"
    )
    assert response.get_json() == {"data": {"hello": "hello world"}}


def test_oversized_body_is_413_json(client: FlaskClient) -> None:
    response = client.post(
        "/graphql", data=b'{"query": "' + b"a" * 100_000 + b'"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.is_json


def test_explorer_is_served_in_development(client: FlaskClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert b"graphiql" in response.data.lower()
