"""Persisted queries: Apollo's APQ protocol over POST and GET, and the trusted-documents mode."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from config import ConfigError
from graphql_runtime.persisted import TextCache
from tests.helpers import database_commands
from tests.side_effects import count_sql

QUERY = "query Posts { posts(limit: 5) { id title } }"
APOLLO = {"Accept": "application/graphql-response+json,application/json;q=0.9"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def post(client: FlaskClient, headers: dict[str, str] | None = None, **body: Any) -> TestResponse:
    return client.post("/graphql", json=body, headers=headers or {})


def get(client: FlaskClient, **params: Any) -> TestResponse:
    encoded = {k: json.dumps(v) if k == "extensions" else v for k, v in params.items()}
    return client.get("/graphql", query_string=encoded)


def code(response: TestResponse) -> str:
    [error] = response.get_json(force=True)["errors"]
    return str(error["extensions"]["code"])


def test_not_found_then_registered_then_hash_only(client: FlaskClient, redis_server) -> None:
    extensions = persisted(sha256(QUERY))
    unknown = post(client, extensions=extensions)
    assert unknown.status_code == 200  # as Apollo Server answers it to application/json
    assert unknown.get_json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert code(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    assert code(post(client, APOLLO, extensions=extensions)) == "PERSISTED_QUERY_NOT_FOUND"
    assert post(client, APOLLO, extensions=extensions).status_code == 404  # spec: no data, 4xx
    registered = post(client, query=QUERY, extensions=extensions)
    assert registered.get_json() == {"data": {"posts": []}}
    key = f"apq:{sha256(QUERY)}"
    assert redis_server.get(key) == QUERY.encode()
    assert 86000 < redis_server.ttl(key) <= 86400
    assert post(client, extensions=extensions).get_json() == {"data": {"posts": []}}


def test_a_redis_outage_does_not_stop_a_query_sent_with_its_text(
    app_factory: Callable[..., Flask],
) -> None:
    client = app_factory(env={"REDIS_URL": "redis://127.0.0.1:1/0"}).test_client()
    response = post(client, query="{ hello }", extensions=persisted(sha256("{ hello }")))
    assert response.get_json() == {"data": {"hello": "hello world"}}


def test_the_round_trip_works_over_get(client: FlaskClient) -> None:
    extensions = persisted(sha256(QUERY))
    assert code(get(client, extensions=extensions)) == "PERSISTED_QUERY_NOT_FOUND"
    assert get(client, query=QUERY, extensions=extensions).get_json() == {"data": {"posts": []}}
    assert get(client, extensions=extensions).get_json() == {"data": {"posts": []}}


def test_a_known_hash_costs_no_redis_command_on_a_warm_worker(
    app_factory: Callable[..., Flask], redis_server: redis.Redis
) -> None:
    extensions = persisted(sha256(QUERY))
    first, second = app_factory().test_client(), app_factory().test_client()
    assert post(first, query=QUERY, extensions=extensions).status_code == 200
    with database_commands(redis_server) as warm:
        assert post(first, extensions=extensions).get_json() == {"data": {"posts": []}}
    assert warm == []
    with database_commands(redis_server) as cold:  # another instance: one GET, then warm
        assert post(second, extensions=extensions).get_json() == {"data": {"posts": []}}
    connect = ("SELECT", "CLIENT")  # the new instance's first connection
    assert [c for c in cold if not c.startswith(connect)] == [f"GET apq:{sha256(QUERY)}"]
    with database_commands(redis_server) as warmed:
        assert post(second, extensions=extensions).status_code == 200
    assert warmed == []


@pytest.mark.parametrize(
    ("extensions", "query", "expected"),
    [
        (persisted(sha256("{ hello }")), QUERY, "PERSISTED_QUERY_HASH_MISMATCH"),
        (persisted("A" * 64), QUERY, "PERSISTED_QUERY_HASH_MISMATCH"),
        (persisted("xyz"), None, "BAD_REQUEST"),
        ({"persistedQuery": {"version": 2, "sha256Hash": sha256(QUERY)}}, None, "BAD_REQUEST"),
        ({"persistedQuery": "x"}, None, "BAD_REQUEST"),
        ({"other": 1}, None, "BAD_REQUEST"),
    ],
)
def test_malformed_persisted_queries_are_400(
    client: FlaskClient, redis_server, extensions: dict[str, Any], query: str | None, expected: str
) -> None:
    body: dict[str, Any] = {"extensions": extensions}
    if query is not None:
        body["query"] = query
    response = post(client, **body)
    assert response.status_code == 400
    assert code(response) == expected
    assert redis_server.keys("apq:*") == []


def test_documents_that_do_not_validate_are_not_registered(client: FlaskClient, redis_server):
    for query in ("{ nope }", "{ hello"):
        response = post(client, query=query, extensions=persisted(sha256(query)))
        assert response.status_code == 400
    assert redis_server.keys("apq:*") == []


def test_apq_can_be_turned_off(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(env={"GRAPHQL_PERSISTED_QUERIES": "0"}).test_client()
    response = post(client, extensions=persisted(sha256(QUERY)))
    assert code(response) == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert post(client, query=QUERY).get_json() == {"data": {"posts": []}}


# --- trusted documents ------------------------------------------------------------------


@pytest.fixture
def trusted(app_factory: Callable[..., Flask], tmp_path: Path) -> FlaskClient:
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({sha256(QUERY): QUERY, sha256("{ hello }"): "{ hello }"}))
    app = app_factory(env={"GRAPHQL_TRUSTED_DOCUMENTS": str(manifest)})
    return app.test_client()


def test_trusted_documents_run_by_hash_or_as_their_text(trusted: FlaskClient, redis_server):
    extensions = persisted(sha256(QUERY))
    with database_commands(redis_server) as commands:
        assert post(trusted, extensions=extensions).get_json() == {"data": {"posts": []}}
    assert commands == []  # the manifest is the store
    assert post(trusted, query=QUERY).get_json() == {"data": {"posts": []}}
    assert get(trusted, extensions=persisted(sha256("{ hello }"))).get_json() == {
        "data": {"hello": "hello world"}
    }


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ posts(limit: 100) { id } }"},
        {"query": "{ posts(limit: 100) { id }"},  # not even parsed
        {"query": "{ me { id } }", "extensions": persisted(sha256("{ me { id } }"))},
    ],
)
def test_anything_else_is_refused_before_parsing(
    app_factory: Callable[..., Flask], trusted: FlaskClient, body: dict[str, Any]
) -> None:
    with count_sql(trusted.application) as statements:
        response = post(trusted, APOLLO, **body)
    assert response.status_code == 403
    assert code(response) == "PERSISTED_QUERY_NOT_IN_LIST"
    assert statements == []


def test_an_unknown_hash_is_not_found_in_trusted_mode(trusted: FlaskClient, redis_server) -> None:
    response = post(trusted, extensions=persisted(sha256("{ me { id } }")))
    assert code(response) == "PERSISTED_QUERY_NOT_FOUND"
    assert redis_server.keys("apq:*") == []


def test_apollos_manifest_format_is_read_too(app_factory: Callable[..., Flask], tmp_path) -> None:
    manifest = tmp_path / "persisted-query-manifest.json"
    operation = {"id": sha256(QUERY), "body": QUERY, "name": "Posts", "type": "query"}
    content = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [operation]}
    manifest.write_text(json.dumps(content))
    client = app_factory(env={"GRAPHQL_TRUSTED_DOCUMENTS": str(manifest)}).test_client()
    assert post(client, extensions=persisted(sha256(QUERY))).get_json() == {"data": {"posts": []}}
    assert post(client, APOLLO, query="{ hello }").status_code == 403


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        "{}",
        json.dumps({"format": "apollo-persisted-query-manifest", "operations": []}),
        json.dumps({"format": "apollo-persisted-query-manifest", "operations": [{"id": 1}]}),
        json.dumps({"0" * 64: "{ hello }"}),
        json.dumps({"x": 1}),
    ],
)
def test_a_bad_manifest_stops_the_start(
    app_factory: Callable[..., Flask], tmp_path: Path, content: str
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(content)
    with pytest.raises(ConfigError, match="GRAPHQL_TRUSTED_DOCUMENTS"):
        app_factory(env={"GRAPHQL_TRUSTED_DOCUMENTS": str(manifest)})
    with pytest.raises(ConfigError, match="cannot read"):
        app_factory(env={"GRAPHQL_TRUSTED_DOCUMENTS": str(tmp_path / "missing.json")})


def test_the_process_cache_is_bounded_by_bytes() -> None:
    texts = [f"{{ hello }} # {i}" + " " * 1000 for i in range(3)]
    cache = TextCache(sys.getsizeof(texts[0]) * 2)
    for text in texts:
        cache.put(sha256(text), text)
    assert cache.get(sha256(texts[0])) is None  # the least recently used went
    assert [cache.get(sha256(t)) for t in texts[1:]] == texts[1:]
    assert cache.bytes <= cache.max_bytes


def test_lookups_are_counted_in_the_metrics(client: FlaskClient, redis_server) -> None:
    from prometheus_client import REGISTRY

    from infra import metrics

    def counted(outcome: str) -> float:
        metrics.flush()
        sample = REGISTRY.get_sample_value("graphql_persisted_queries_total", {"outcome": outcome})
        return sample or 0.0

    before = {outcome: counted(outcome) for outcome in ("miss", "registered", "hit")}
    extensions = persisted(sha256(QUERY))
    post(client, extensions=extensions)
    post(client, query=QUERY, extensions=extensions)
    post(client, extensions=extensions)
    assert {outcome: counted(outcome) - before[outcome] for outcome in before} == {
        "miss": 1,
        "registered": 1,
        "hit": 1,
    }
