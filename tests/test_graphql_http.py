"""GraphQL over HTTP as clients expect it: one error shape, negotiated media type, codes, GET."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from config import ProductionConfig
from tests.helpers import CREATE_POST, GraphQLClient
from tests.side_effects import count_sql

GRAPHQL_RESPONSE = "application/graphql-response+json"
APOLLO = {"Accept": "application/graphql-response+json,application/json;q=0.9"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def only_error(response: TestResponse) -> dict[str, Any]:
    """The one error of a GraphQL error body (which has nothing else)."""
    body = response.get_json(force=True)
    assert set(body) == {"errors"}, body
    [error] = body["errors"]
    assert isinstance(error["message"], str) and error["message"]
    return dict(error)


EVIL = {"Origin": "https://evil.example"}
HELLO = b'{"query": "{ hello }"}'


@pytest.mark.parametrize(
    ("sent", "status", "code"),
    [
        ((b"{bad", "application/json", {}), 400, "BAD_REQUEST"),
        ((b"[]", "application/json", {}), 400, "BAD_REQUEST"),
        ((HELLO, "text/plain", {}), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (
            (b'{"query": "' + b"a" * 70_000 + b'"}', "application/json", {}),
            413,
            "REQUEST_ENTITY_TOO_LARGE",
        ),
        ((HELLO, "application/json", EVIL), 403, "FORBIDDEN"),
    ],
)
@pytest.mark.parametrize("accept", [APOLLO, {}])
def test_http_level_failures_take_the_graphql_error_shape(
    client: FlaskClient,
    accept: dict[str, str],
    sent: tuple[bytes, str, dict[str, str]],
    status: int,
    code: str,
) -> None:
    body, content_type, headers = sent
    response = client.post(
        "/graphql", data=body, content_type=content_type, headers={**accept, **headers}
    )
    assert response.status_code == status
    assert response.mimetype == (GRAPHQL_RESPONSE if accept else "application/json")
    error = only_error(response)
    assert error["extensions"]["code"] == code
    assert error["extensions"]["requestId"] == response.headers["X-Request-Id"]


def test_rest_errors_keep_their_shape(client: FlaskClient) -> None:
    response = client.delete("/sessions", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "FORBIDDEN"


def test_an_outage_is_a_503_in_the_graphql_shape(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(env={"REDIS_URL": "redis://127.0.0.1:1/0"}).test_client()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}}
    response = client.post("/graphql", json={"extensions": extensions}, headers=APOLLO)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.mimetype == GRAPHQL_RESPONSE
    assert only_error(response)["extensions"]["code"] == "SERVICE_UNAVAILABLE"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/*", "application/json"),
        ("application/graphql-response+json, application/json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;charset=utf-8", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json;q=0.5", "application/json"),
        ("*/*, application/json;q=0", GRAPHQL_RESPONSE),
    ],
)
def test_the_media_type_follows_accept(
    client: FlaskClient, accept: str | None, media_type: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client.post("/graphql", json={"query": "{ hello }"}, headers=headers)
    assert response.status_code == 200 and response.mimetype == media_type
    assert response.get_json(force=True) == {"data": {"hello": "hello world"}}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json;q=0"])
def test_an_accept_the_server_cannot_serve_is_406(client: FlaskClient, accept: str) -> None:
    with count_sql(client.application) as statements:
        response = client.post(
            "/graphql", json={"query": "{ posts { id } }"}, headers={"Accept": accept}
        )
    assert response.status_code == 406 and response.mimetype == "application/json"
    assert only_error(response)["extensions"]["code"] == "NOT_ACCEPTABLE"
    assert statements == []


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"query": "{ hello"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query Q($id: Int!) { post(id: $id) { id } }", "variables": {"id": "x"}},
            "BAD_USER_INPUT",
        ),
        ({"query": "query Q($id: Int!) { post(id: $id) { id } }"}, "BAD_USER_INPUT"),
        (
            {"query": "query A { hello } query B { hello }", "operationName": "C"},
            "OPERATION_RESOLUTION_FAILURE",
        ),
        ({"query": "query A { hello } query B { hello }"}, "OPERATION_RESOLUTION_FAILURE"),
    ],
)
@pytest.mark.parametrize("accept", [APOLLO, {}])
def test_requests_that_cannot_run_are_400_with_apollo_codes(
    client: FlaskClient, accept: dict[str, str], payload: dict[str, Any], code: str
) -> None:
    response = client.post("/graphql", json=payload, headers=accept)
    assert response.status_code == 400
    assert only_error(response)["extensions"]["code"] == code


@pytest.mark.parametrize("accept", [APOLLO, {}])
def test_field_errors_keep_200_and_data(client: FlaskClient, accept: dict[str, str]) -> None:
    response = client.post(
        "/graphql", json={"query": CREATE_POST, "variables": {"title": "x"}}, headers=accept
    )
    assert response.status_code == 200
    body = response.get_json(force=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_get_runs_queries_with_variables_and_operation_name(alice: GraphQLClient) -> None:
    alice(CREATE_POST, title="over get")
    response = alice.client.get(
        "/graphql",
        query_string={
            "query": "query A { hello } query P($n: Int) { posts(limit: $n) { title } }",
            "variables": '{"n": 1}',
            "operationName": "P",
        },
        headers=APOLLO,
    )
    assert response.status_code == 200 and response.mimetype == GRAPHQL_RESPONSE
    assert response.get_json(force=True) == {"data": {"posts": [{"title": "over get"}]}}


def test_get_never_runs_a_mutation(alice: GraphQLClient) -> None:
    response = alice.client.get(
        "/graphql", query_string={"query": 'mutation { createPost(title: "x") { id } }'}
    )
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert only_error(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert alice("{ posts { id } }")["data"]["posts"] == []


@pytest.mark.parametrize(
    "query_string",
    [
        {},
        {"query": ""},
        {"query": "{ hello }", "variables": "{bad"},
        {"query": "{ hello }", "variables": "[1]"},
        {"query": "{ hello }", "variables": "[" * 1500 + "]" * 1500},
        {"query": "{ hello }", "extensions": "3"},
        "query=%7B+hello+%7D&query=%7B+hello+%7D",
    ],
)
def test_bad_get_parameters_are_400(client: FlaskClient, query_string: Any) -> None:
    response = client.get("/graphql", query_string=query_string, headers=APOLLO)
    assert response.status_code == 400
    assert only_error(response)["extensions"]["code"] == "BAD_REQUEST"


def test_the_explorer_is_only_for_a_browser_asking_for_a_page(client: FlaskClient) -> None:
    assert client.get("/graphql", headers=BROWSER).mimetype == "text/html"
    for headers in ({}, {"Accept": "*/*"}, APOLLO):
        response = client.get("/graphql", query_string={"query": "{ hello }"}, headers=headers)
        assert response.get_json(force=True) == {"data": {"hello": "hello world"}}


def test_production_never_serves_the_explorer(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(ProductionConfig, env={"APP_ENV": "production"}).test_client()
    response = client.get("/graphql", query_string={"query": "{ hello }"}, headers=BROWSER)
    assert response.get_json() == {"data": {"hello": "hello world"}}


def test_an_answer_with_data_is_200_under_the_graphql_media_type(
    app_factory: Callable[..., Flask],
) -> None:
    client = app_factory(env={"REDIS_URL": "redis://127.0.0.1:1/0"}).test_client()
    client.set_cookie("qid", "A" * 22)  # a well-formed session id: reading it needs Redis
    query = {"query": "{ hello me { id } }"}
    legacy = client.post("/graphql", json=query)
    assert legacy.status_code == 503 and legacy.headers["Retry-After"] == "1"
    strict = client.post("/graphql", json=query, headers=APOLLO)
    assert strict.status_code == 200  # the spec: a response with data is 2xx
    body = strict.get_json(force=True)
    assert body["data"] == {"hello": "hello world", "me": None}
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
