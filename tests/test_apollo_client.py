"""The real Apollo Client 4 (under Node) against the real servers (gunicorn and Granian).

What its users see: GraphQL errors of every 4xx as GraphQL errors (not a bare ServerError,
because the answers are application/graphql-response+json), GET queries, and the automatic
persisted queries round trip. Needs /usr/bin/node and ``npm install --prefix tests/node``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support import SERVERS, app_env, app_server

NODE_DIR = Path(__file__).resolve().parent / "node"
GRAPHQL_RESPONSE = "application/graphql-response+json"
APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed (Debian package nodejs)")
    if not (NODE_DIR / "node_modules" / "@apollo" / "client").is_dir():
        pytest.skip("Apollo Client is not installed: npm install --prefix tests/node")
    return path


@pytest.fixture(scope="module", params=SERVERS)
def report(
    request: pytest.FixtureRequest,
    node: str,
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
) -> dict[str, Any]:
    tmp_path = tmp_path_factory.mktemp("apollo")
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", redis_url)
    try:
        with app_server(request.param, env, tmp_path) as server:
            script = str(NODE_DIR / "apollo_client.mjs")
            result = subprocess.run(
                [node, script, server.base_url],
                cwd=NODE_DIR,
                capture_output=True,
                timeout=120,
                check=False,
            )
    finally:
        redis.Redis.from_url(redis_url).flushdb()  # rate-limit counters and APQ documents
    assert result.returncode == 0, result.stderr.decode()
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


def test_every_request_asks_for_the_graphql_response_media_type(report: dict[str, Any]) -> None:
    for scenario in report.values():
        for exchange in scenario["exchanges"]:
            assert exchange["accept"] == APOLLO_ACCEPT
            assert exchange["contentType"] == GRAPHQL_RESPONSE


def test_a_query_answers_data(report: dict[str, Any]) -> None:
    assert report["hello"]["data"] == {"hello": "hello world"}
    assert report["hello"]["kind"] is None


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [
        ("validation", 400, "GRAPHQL_VALIDATION_FAILED"),
        ("variables", 400, "BAD_USER_INPUT"),
        ("too-large", 413, "REQUEST_ENTITY_TOO_LARGE"),
        ("rate-limited", 429, "RATE_LIMITED"),
    ],
)
def test_4xx_answers_reach_apollo_as_graphql_errors(
    report: dict[str, Any], scenario: str, status: int, code: str
) -> None:
    seen = report[scenario]
    assert seen["kind"] == "CombinedGraphQLErrors"  # not ServerError: the errors are readable
    assert seen["codes"] == [code]
    assert seen["exchanges"][-1]["status"] == status


def test_queries_can_go_over_get(report: dict[str, Any]) -> None:
    [exchange] = report["get"]["exchanges"]
    assert exchange["method"] == "GET" and exchange["url"].startswith("/graphql?query=")
    assert exchange["status"] == 200
    assert report["get"]["data"] == {"hello": "hello world"}


def test_persisted_queries_round_trip(report: dict[str, Any]) -> None:
    first, retry = report["apq-register"]["exchanges"]
    assert "query" not in first["body"] and first["body"]["extensions"]["persistedQuery"]
    assert first["status"] == 404  # PERSISTED_QUERY_NOT_FOUND: the link sends the text
    assert retry["body"]["query"] and retry["status"] == 200
    assert report["apq-register"]["data"] == {"posts": []}
    [known] = report["apq-hash-only"]["exchanges"]  # a new client: hash only, and it runs
    assert "query" not in known["body"] and known["status"] == 200
    assert report["apq-hash-only"]["data"] == {"posts": []}
    [over_get] = report["apq-get"]["exchanges"]
    assert over_get["method"] == "GET" and "extensions=" in over_get["url"]
    assert "query=" not in over_get["url"] and over_get["status"] == 200
    assert report["apq-get"]["data"] == {"posts": []}
