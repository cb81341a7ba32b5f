"""The cost limit: documents that may fetch too many rows are refused before they run."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.helpers import GraphQLClient
from tests.side_effects import count_sql

pytestmark = pytest.mark.generous_rate_limits

FULL_PAGE = "posts(limit: 100) { id title createdAt creatorId creator { id username } }"


def aliased(count: int, field: str) -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def test_thirty_aliased_full_pages_are_refused_before_any_sql(app: Flask, alice) -> None:
    with count_sql(app) as statements:
        response = alice.post(aliased(30, "posts(limit: 100) { id }"), expect_errors=True)
    assert response.status_code == 400
    [error] = response.get_json()["errors"]
    assert error["message"] == "Query costs 3000; the maximum is 1000."
    assert error["extensions"] == {
        "code": "GRAPHQL_VALIDATION_FAILED",
        "cost": {"requestedQueryCost": 3000, "maximumAvailable": 1000},
    }
    assert statements == []


@pytest.mark.parametrize(
    "query",
    [
        "{ " + FULL_PAGE + " me { id username } }",
        "query P($limit: Int, $cursor: String) { posts(limit: $limit, cursor: $cursor)"
        " { id title creator { id username } } }",
        aliased(30, "posts(limit: 1) { id }"),
        "{ a: " + FULL_PAGE + " b: " + FULL_PAGE + " }",
    ],
)
def test_the_documents_clients_send_are_admitted(alice: GraphQLClient, query: str) -> None:
    response = alice.post(query)
    assert response.status_code == 200, response.get_json()
    assert "errors" not in response.get_json()


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ posts(limit: 100) { id } }", 100),
        ("{ posts(limit: 5000) { id } }", 100),  # the resolver caps limit at 100
        ("{ posts { id } }", 50),  # the schema's default limit
        ("{ posts(limit: null) { id } }", 50),
        ("query P($n: Int) { posts(limit: $n) { id } }", 100),  # a variable: the most it can be
        ("{ posts(limit: 10) { id creator { id } } }", 20),
        ("{ posts(limit: 10) { ...P ...P } } fragment P on Post { creator { id } }", 20),
        ("{ posts(limit: 10) { creator { id } creator { username } } }", 20),
        ("{ hello me { id } post(id: 1) { creator { id } } }", 3),
    ],
)
def test_cost_counts_objects_times_page_sizes(
    app_factory: Callable[..., Flask], query: str, cost: int
) -> None:
    client = GraphQLClient(app_factory(env={"GRAPHQL_MAX_COST": str(cost - 1)}).test_client())
    [error] = client.post(query, expect_errors=True).get_json()["errors"]
    assert error["extensions"]["cost"]["requestedQueryCost"] == cost
    admitted = GraphQLClient(app_factory(env={"GRAPHQL_MAX_COST": str(cost)}).test_client())
    assert "errors" not in admitted.post(query).get_json()
