"""Against the real servers (gunicorn and Granian): trusted documents, the cost limit, CORS
preflights."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import SERVERS, HttpClient, Server, app_env, app_server

FRONTEND = "https://frontend.example"
HELLO = "{ hello }"
COSTLY = "{ " + " ".join(f"a{i}: posts(limit: 100) {{ id }}" for i in range(30)) + " }"
APOLLO_HEADERS = [
    "content-type",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "traceparent",
]

pytestmark = pytest.mark.timeout(120)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module", params=SERVERS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("trusted")
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({sha256(HELLO): HELLO, sha256(COSTLY): COSTLY}))
    env = app_env(
        tmp_path,
        f"sqlite:///{tmp_path / 'app.sqlite'}",
        redis_url,
        CORS_ORIGINS=FRONTEND,
        GRAPHQL_TRUSTED_DOCUMENTS=str(manifest),
    )
    with app_server(request.param, env, tmp_path) as running:
        yield running


def post(server: Server, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, str], Any]:
    status, got, data = HttpClient(server.base_url).request(
        "POST",
        "/graphql",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **headers},
    )
    return status, got, json.loads(data)


def test_only_listed_documents_run(server: Server) -> None:
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256(HELLO)}}
    assert post(server, {"extensions": persisted})[2] == {"data": {"hello": "hello world"}}
    assert post(server, {"query": HELLO})[2] == {"data": {"hello": "hello world"}}
    status, _, body = post(server, {"query": "{ posts { id } }"})
    assert status == 403
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"


def test_a_listed_document_over_the_cost_limit_is_refused(server: Server) -> None:
    status, _, body = post(server, {"query": COSTLY})
    assert status == 400
    [error] = body["errors"]
    assert error["extensions"]["cost"] == {"requestedQueryCost": 3000, "maximumAvailable": 1000}


def test_preflight_admits_apollo_clients_headers(server: Server) -> None:
    status, headers, _ = HttpClient(server.base_url).request(
        "OPTIONS",
        "/graphql",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(APOLLO_HEADERS),
        },
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == FRONTEND
    assert headers["Access-Control-Allow-Credentials"] == "true"
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert set(APOLLO_HEADERS) <= allowed


def test_the_frontend_can_read_request_id_and_retry_after(server: Server) -> None:
    _, headers, _ = post(server, {"query": HELLO}, Origin=FRONTEND)
    assert headers["Access-Control-Allow-Origin"] == FRONTEND
    exposed = {h.strip() for h in headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Request-Id", "Retry-After"} <= exposed
