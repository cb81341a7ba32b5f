"""Hostile GraphQL documents are refused fast, as 400/413 JSON, before any resolver runs.

"No resolver ran" is proven by counting the SQL statements the app sends while a document is
refused: the documents ask for ``posts`` (or ``login``), whose resolvers always query the
database (``me`` no longer does: it is answered from the session).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from graphql import get_introspection_query
from werkzeug.test import TestResponse

from config import ProductionConfig
from tests.helpers import REGISTER, GraphQLClient
from tests.side_effects import count_sql, table_count

pytestmark = pytest.mark.generous_rate_limits

FAST = 2.0  # seconds; stock defaults took 3.4 s for 10k aliases and hang on fragment fan-out
LOGIN_FIELD = 'login(options: {username: "alice", password: "correct horse"}) { user { id } }'
LOGIN_MUTATION = f"mutation {{ {LOGIN_FIELD} }}"


def refused(app: Flask, client: GraphQLClient, query: str, **variables: Any) -> TestResponse:
    """Send ``query``; assert it was refused fast as a JSON 4xx with no SQL sent."""
    with count_sql(app) as statements:
        started = time.perf_counter()
        response = client.post(query, expect_errors=True, **variables)
        elapsed = time.perf_counter() - started
    assert response.status_code in (400, 413), response.get_data(as_text=True)[:300]
    assert response.is_json
    assert statements == [], "a resolver ran"
    assert elapsed < FAST, f"took {elapsed:.2f}s"
    return response


def first_message(response: TestResponse) -> str:
    """The first error message of a GraphQL error body or a REST error body."""
    body = response.get_json()
    if "errors" in body:
        message: str = body["errors"][0]["message"]
        return message
    return str(body["error"]["message"])


POSTS = "posts(limit: 1) { id }"


def aliases(count: int, field: str = POSTS) -> str:
    """A query asking for ``field`` under ``count`` aliases."""
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def test_the_queries_below_do_reach_the_database_when_allowed(app: Flask, alice) -> None:
    with count_sql(app) as statements:
        assert alice(aliases(30))["data"]["a29"] == []
    assert statements, "the SQL counter must see a resolver's query"
    with count_sql(app) as statements:
        assert alice(LOGIN_MUTATION)["data"]["login"]["user"]
    assert statements


@pytest.mark.parametrize(
    ("count", "status", "says"),
    [
        (31, 400, "more than 30 aliases"),
        (200, 400, "tokens"),
        (1_000, 400, "longer than"),
        (10_000, 413, "capacity"),
    ],
)
def test_alias_floods_are_refused(app: Flask, alice, count: int, status: int, says: str) -> None:
    response = refused(app, alice, aliases(count))
    assert response.status_code == status
    assert says in first_message(response)


def test_ten_thousand_duplicate_fields_hit_the_length_limit(app: Flask, alice) -> None:
    response = refused(app, alice, "{ posts { " + "id " * 10_000 + "} }")
    assert response.status_code == 400
    assert "longer than 8192 characters" in first_message(response)


def test_a_thousand_duplicate_fields_hit_the_token_limit(app: Flask, alice) -> None:
    response = refused(app, alice, "{ posts { " + "id " * 1_000 + "} }")
    assert "more than 400 tokens" in first_message(response)


@pytest.mark.parametrize(("name", "status"), [("a", 400), ("posts_with_long_name", 413)])
def test_depth_five_thousand_fails_cleanly(app: Flask, alice, name: str, status: int) -> None:
    query = "{ " + f"{name} {{ " * 5_000 + "id" + " }" * 5_001
    response = refused(app, alice, query)
    assert response.status_code == status
    assert "Recursion" not in response.get_data(as_text=True)


def nested(levels: int) -> str:
    """``posts`` nested so that fields reach ``levels`` deep (the last level is ``id``)."""
    return "{ " + "posts { " * (levels - 1) + "id" + " }" * levels


def test_depth_limit_counts_levels(app: Flask, alice) -> None:
    messages = [e["message"] for e in refused(app, alice, nested(11)).get_json()["errors"]]
    assert "Query is nested 11 levels deep; the maximum is 10." in messages
    at_limit = [e["message"] for e in refused(app, alice, nested(10)).get_json()["errors"]]
    assert not any("levels deep" in m for m in at_limit)  # refused only as an invalid field


def test_depth_limit_follows_fragment_chains(app: Flask, alice) -> None:
    chain = " ".join(f"fragment F{i} on Post {{ creator {{ ...F{i + 1} }} }}" for i in range(12))
    query = "{ posts { ...F0 } } " + chain + " fragment F12 on User { id }"
    response = refused(app, alice, query)
    assert any("levels deep" in e["message"] for e in response.get_json()["errors"])


def test_very_long_fragment_chain_is_refused_without_recursion_error(app: Flask, alice) -> None:
    chain = " ".join(f"fragment F{i} on Query {{ posts {{ ...F{i + 1} }} }}" for i in range(180))
    response = refused(app, alice, "{ ...F0 } " + chain + " fragment F180 on Query { hello }")
    assert response.status_code == 400


@pytest.mark.timeout(30)
def test_fragment_fan_out_is_not_exponential(alice) -> None:
    # Each fragment spreads the next twice: 2**36 paths if fragments were expanded naively.
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(36))
    query = "{ ...F0 } " + fragments + " fragment F36 on Query { me { username } posts { id } }"
    started = time.perf_counter()
    body = alice(query)
    assert time.perf_counter() - started < FAST
    assert body == {"data": {"me": {"username": "alice"}, "posts": []}}


@pytest.mark.parametrize(
    "query",
    [
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "{ ...A } fragment A on Query { posts { id } ...A }",
        "{ posts { ...P } } fragment P on Post { creator { ...U } } fragment U on User { id ...P }",
    ],
)
def test_fragment_cycles_are_refused(app: Flask, alice, query: str) -> None:
    response = refused(app, alice, query)
    assert "Cannot spread fragment" in first_message(response)


def test_directive_overloading_hits_the_token_limit(app: Flask, alice) -> None:
    response = refused(app, alice, "{ posts { id " + "@include(if: true) " * 100 + "} }")
    assert "tokens" in first_message(response)


def test_hundred_aliased_logins_never_reach_a_password_check(app: Flask, gql) -> None:
    assert gql.register("alice")["user"]
    fresh = GraphQLClient(app.test_client())
    response = refused(app, fresh, "mutation { " + aliases(100, LOGIN_FIELD)[2:])
    assert response.get_json()["errors"]
    assert fresh.me() is None


@pytest.mark.parametrize("field", ["login", "register"])
def test_two_sensitive_fields_in_one_document_are_refused(app: Flask, gql, field: str) -> None:
    options = '(options: {username: "bob", password: "correct horse"}) { user { id } }'
    response = refused(app, gql, f"mutation {{ a: {field}{options} b: {field}{options} }}")
    assert "Only one login, register" in first_message(response)
    assert table_count(app, "user") == 0


def test_batched_mutations_never_run(app: Flask, client) -> None:
    operation = {"query": REGISTER, "variables": {"username": "bob", "password": "x" * 12}}
    response = client.post("/graphql", json=[operation, operation])
    assert response.status_code == 400 and response.is_json
    assert table_count(app, "user") == 0


def test_subscriptions_are_refused(app: Flask, alice) -> None:
    response = refused(app, alice, "subscription { posts { id } }")
    assert response.get_json()["errors"]


def test_over_limit_query_is_refused_again_from_the_cache(app: Flask, alice) -> None:
    query = aliases(31)
    for _ in range(3):
        assert "more than 30 aliases" in first_message(refused(app, alice, query))


def test_document_cache_is_per_app_so_limits_are_per_app(app_factory: Callable[..., Flask]) -> None:
    strict = GraphQLClient(app_factory(GRAPHQL_MAX_ALIASES=2).test_client())
    loose = GraphQLClient(app_factory(GRAPHQL_MAX_ALIASES=5).test_client())
    query = aliases(3, "hello")
    assert loose(query)["data"]["a2"] == "hello world"
    assert strict.post(query, expect_errors=True).status_code == 400
    assert loose(query)["data"]["a2"] == "hello world"


# --- introspection and suggestions -------------------------------------------------------

CIRCULAR_INTROSPECTION = (
    "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }"
)


@pytest.fixture
def production(app_factory: Callable[..., Flask]) -> GraphQLClient:
    """A client of the production app (no introspection, no suggestions)."""
    return GraphQLClient(app_factory(ProductionConfig).test_client())


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { queryType { name } } }",
        '{ __type(name: "User") { fields { name } } }',
        "{ me { id } a: __schema { types { name } } }",
        CIRCULAR_INTROSPECTION,
        get_introspection_query(),
    ],
)
def test_introspection_is_refused_in_production(production: GraphQLClient, query: str) -> None:
    response = production.post(query, expect_errors=True)
    assert response.status_code == 400
    messages = [e["message"] for e in response.get_json()["errors"]]
    assert any("introspection has been disabled" in m for m in messages), messages


def test_circular_introspection_is_refused_in_development(app: Flask, gql) -> None:
    response = refused(app, gql, CIRCULAR_INTROSPECTION)
    assert "Maximum introspection depth exceeded" in first_message(response)


def test_typename_still_works_in_production(production: GraphQLClient) -> None:
    assert production("{ __typename }") == {"data": {"__typename": "Query"}}
    body = production("{ posts { __typename } me { __typename } }")
    assert body == {"data": {"posts": [], "me": None}}


def test_explorer_introspection_query_passes_in_development(gql: GraphQLClient) -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    response = gql.post(query)
    assert response.status_code == 200, response.get_json()
    types = {t["name"] for t in response.get_json()["data"]["__schema"]["types"]}
    assert {"Query", "Mutation", "User", "Post", "UsernamePasswordInput"} <= types


TYPOS = [
    # (query, variables, what a suggestion would name)
    ("{ me { usernam } }", {}, "'username'"),
    ("{ posts(limt: 3) { id } }", {}, "'limit'"),
    ("query Q($x: Strin) { hello }", {}, "'String'"),
    ("{ post(id: 1) { titl } }", {}, "'title'"),
    (
        "mutation M($o: UsernamePasswordInput!) { login(options: $o) { user { id } } }",
        {"o": {"usrname": "alice", "username": "alice", "password": "correct horse"}},
        "'username'",
    ),
]


@pytest.mark.parametrize(("query", "variables", "named"), TYPOS)
def test_suggestions_help_in_development(
    gql, query: str, variables: dict[str, Any], named: str
) -> None:
    response = gql.post(query, expect_errors=True, **variables)
    assert response.status_code == 400
    assert any(f"Did you mean {named}" in e["message"] for e in response.get_json()["errors"])


@pytest.mark.parametrize(("query", "variables", "named"), TYPOS)
def test_no_suggestions_in_production(
    production, query: str, variables: dict[str, Any], named: str
) -> None:
    response = production.post(query, expect_errors=True, **variables)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Did you mean" not in text
    assert response.get_json()["errors"]
