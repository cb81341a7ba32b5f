"""CSRF and CORS: only JSON posts from this site or configured origins run operations."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import CREATE_POST, GraphQLClient

FRONTEND = "https://frontend.example"
EVIL = "https://evil.example"
MUTATION = json.dumps({"query": 'mutation { createPost(title: "csrf") { id } }'})


@pytest.fixture
def cors_app(app_factory) -> Flask:
    app: Flask = app_factory(env={"CORS_ORIGINS": f"{FRONTEND}, http://localhost:3000"})
    return app


def victim(app: Flask) -> GraphQLClient:
    gql = GraphQLClient(app.test_client())
    gql.register()
    return gql


def post_mutation(client: FlaskClient, headers: dict[str, str]) -> TestResponse:
    """The mutation as a JSON POST with ``headers``: what a cross-site page might send."""
    return client.post("/graphql", data=MUTATION, content_type="application/json", headers=headers)


def post_count(gql: GraphQLClient) -> int:
    return len(gql("{ posts { id } }")["data"]["posts"])


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", MUTATION),
        ("application/x-www-form-urlencoded", "query=" + MUTATION),
        (
            "multipart/form-data; boundary=X",
            "--X\r\nContent-Disposition: form-data; "
            f'name="operations"\r\n\r\n{MUTATION}\r\n--X--\r\n',
        ),
        (None, MUTATION),
    ],
)
def test_simple_content_types_never_run_mutations(
    cors_app: Flask, content_type: str | None, body: str
) -> None:
    gql = victim(cors_app)
    headers = {"Content-Type": content_type} if content_type else {}
    response = gql.client.post("/graphql", data=body, headers=headers)
    assert response.status_code == 415
    assert response.is_json
    assert post_count(gql) == 0


def test_get_never_runs_operations(cors_app: Flask) -> None:
    gql = victim(cors_app)
    response = gql.client.get(
        "/graphql", query_string={"query": 'mutation { createPost(title: "x") { id } }'}
    )
    assert b'"createPost"' not in response.data
    assert post_count(gql) == 0
    assert gql.client.get("/logout").status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_posts_are_refused_even_as_json(
    cors_app: Flask, headers: dict[str, str]
) -> None:
    gql = victim(cors_app)
    response = post_mutation(gql.client, headers)
    assert response.status_code == 403
    assert response.get_json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert post_count(gql) == 0
    assert gql.client.delete("/sessions", headers=headers).status_code == 403
    assert gql.me() is not None


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl: no Origin
        {"Origin": "http://localhost"},  # the server's own origin (test client host)
        {"Origin": FRONTEND, "Sec-Fetch-Site": "cross-site"},  # a configured frontend
        {"Sec-Fetch-Site": "same-origin"},
    ],
)
def test_same_origin_configured_origins_and_curl_work(
    cors_app: Flask, headers: dict[str, str]
) -> None:
    gql = victim(cors_app)
    response = post_mutation(gql.client, headers)
    assert response.status_code == 200, response.get_json()
    assert post_count(gql) == 1


def test_cors_headers_only_for_configured_origins(cors_app: Flask) -> None:
    client = cors_app.test_client()
    allowed = client.post("/graphql", json={"query": "{ hello }"}, headers={"Origin": FRONTEND})
    assert allowed.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in allowed.headers["Vary"]
    preflight = client.options(
        "/graphql",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    for origin in (EVIL, "null", FRONTEND + ".evil.example", "*"):
        refused = client.options(
            "/graphql", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
        )
        assert "Access-Control-Allow-Origin" not in refused.headers
        assert "Access-Control-Allow-Credentials" not in refused.headers


def test_no_cors_without_configuration(app: Flask) -> None:
    response = app.test_client().post(
        "/graphql", json={"query": "{ hello }"}, headers={"Origin": FRONTEND}
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_api_answers_are_not_cached(app: Flask) -> None:
    gql = victim(app)
    for response in (
        gql.post(CREATE_POST, title="x"),
        gql.client.get("/me"),
        gql.client.get("/sessions"),
    ):
        assert response.headers["Cache-Control"] == "no-store"
        assert "Cookie" in response.headers["Vary"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_refusals_carry_the_request_id(cors_app: Flask) -> None:
    headers = {"Origin": EVIL, "X-Request-Id": "req-csrf-1"}
    response = post_mutation(cors_app.test_client(), headers)
    assert response.status_code == 403
    assert response.headers["X-Request-Id"] == "req-csrf-1"
    assert response.get_json()["errors"][0]["extensions"]["requestId"] == "req-csrf-1"


APOLLO_HEADERS = (
    "content-type, apollographql-client-name, apollographql-client-version,"
    " apollo-require-preflight, traceparent"
)


def allowed_headers(response) -> set[str]:
    return {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}


def test_preflights_allow_apollo_clients_headers(cors_app: Flask) -> None:
    preflight = cors_app.test_client().options(
        "/graphql",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": APOLLO_HEADERS,
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == FRONTEND
    requested = {h.strip() for h in APOLLO_HEADERS.split(",")}
    assert requested <= allowed_headers(preflight)
    assert "x-request-id" in allowed_headers(preflight)


def test_allowed_request_headers_are_configurable(app_factory) -> None:
    app = app_factory(
        env={"CORS_ORIGINS": FRONTEND, "CORS_ALLOW_HEADERS": "Content-Type, X-Tenant"}
    )
    preflight = app.test_client().options(
        "/graphql", headers={"Origin": FRONTEND, "Access-Control-Request-Method": "POST"}
    )
    assert allowed_headers(preflight) == {"content-type", "x-tenant"}


def test_a_frontend_may_read_the_request_id_and_retry_after(cors_app: Flask) -> None:
    response = cors_app.test_client().post(
        "/graphql", json={"query": "{ hello }"}, headers={"Origin": FRONTEND}
    )
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"X-Request-Id", "Retry-After"}
