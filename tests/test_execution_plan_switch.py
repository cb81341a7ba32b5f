"""Which requests run on compiled plans: on by default (GRAPHQL_EXECUTION_PLANS=0 turns them
off), creators still batched into one statement, mutations on plans and introspection left
to graphql-core, and one plan per outcome of a document's conditions. That plans answer
exactly as graphql-core is test_execution_plans.py.
"""

from __future__ import annotations

import pytest

from config import Config
from tests.helpers import GraphQLClient
from tests.plan_pair import Pair
from tests.side_effects import count_sql


def test_plans_are_on_by_default_and_zero_turns_them_off() -> None:
    assert Config({}).GRAPHQL_EXECUTION_PLANS is True
    assert Config({"GRAPHQL_EXECUTION_PLANS": "1"}).GRAPHQL_EXECUTION_PLANS is True
    assert Config({"GRAPHQL_EXECUTION_PLANS": "0"}).GRAPHQL_EXECUTION_PLANS is False


def test_creators_are_still_fetched_in_one_statement_on_a_plan(pair: Pair) -> None:
    client = GraphQLClient(pair.planned.test_client())
    stats = pair.executor(pair.planned).plan_stats
    before = (stats.planned, stats.fallback)
    with count_sql(pair.planned) as statements:
        listed = client("{ posts { title creator { username } } }")["data"]["posts"]
    assert {p["creator"]["username"] for p in listed} == {"writer", "member"}
    assert len(listed) == 6
    assert len([s for s in statements if 'FROM "user"' in s or "FROM user" in s]) == 1
    assert (stats.planned, stats.fallback) == (before[0] + 1, before[1])


@pytest.mark.parametrize(
    ("query", "on_plan"),
    [
        ("{ __schema { queryType { name } } }", False),
        ('{ hello __type(name: "Post") { name } }', False),
        ('mutation { createPost(title: "by plan") { id title } }', True),
        ("mutation M($t: String!) { createPost(title: $t) { id creator { username } } }", True),
    ],
)
def test_mutations_run_on_plans_and_introspection_on_graphql_core(
    pair: Pair, query: str, on_plan: bool
) -> None:
    stats = pair.executor(pair.planned).plan_stats
    before = (stats.planned, stats.fallback)
    payload = {"query": query, "variables": {"t": "by plan"}}
    response = pair.clients["member"][0].post("/graphql", json=payload)
    assert response.status_code == 200 and "errors" not in response.get_json()
    assert (stats.planned, stats.fallback) == (before[0] + on_plan, before[1] + (not on_plan))


def test_a_plan_is_compiled_once_per_condition_outcome(pair: Pair) -> None:
    query = "query Q($a: Boolean!) { hello posts @include(if: $a) { id } }"
    client = GraphQLClient(pair.planned.test_client())
    for a in (True, False, True, False):
        assert ("posts" in client(query, a=a)["data"]) is a
    plans = pair.executor(pair.planned).prepare(query).plans
    assert plans is not None
    [operation] = plans.operations()
    assert sorted(operation.variants) == [(False,), (True,)]
