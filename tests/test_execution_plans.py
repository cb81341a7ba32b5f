"""Compiled plans answer exactly as graphql-core: a differential test over real requests.

Two apps share the test database and Redis: one runs queries on plans, the other with
GRAPHQL_EXECUTION_PLANS off. Every query document the test suite sends, and thousands
generated over the real schema (tests/execution_plan_cases.py), go through both apps'
HTTP handlers as an anonymous and a logged-in client, sometimes with a resolver made to
fail (UNAUTHENTICATED, FORBIDDEN, an outage, an unexpected error, a missing creator, a
value its type cannot represent). Status, Retry-After and the body bytes (key order
included) must be the same, and every valid query must have run on its plan.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from hypothesis import given
from redis.exceptions import ConnectionError as RedisConnectionError

from config import ProductionConfig
from graphql_runtime.executor import build_schema
from services import accounts, posts, user_sessions
from services.errors import NotAuthenticated, NotAuthorized
from tests.execution_plan_cases import Case, cases, differential_settings, suite_documents
from tests.plan_pair import Pair
from tests.side_effects import GENEROUS_RATE_LIMITS

# generated documents per run, per database (PLANS_EXAMPLES overrides SQLite's, for a quick run)
GENERATED = {"sqlite": int(os.environ.get("PLANS_EXAMPLES", "2000")), "postgresql": 300}


# --- faults: a service function made to fail or to return what its type cannot hold ----


def _raise(error: Callable[[], Exception]) -> Callable[..., Any]:
    def fail(*_: Any, **__: Any) -> Any:
        raise error()

    return fail


def _corrupt_posts(change: dict[str, Any]) -> Callable[..., Any]:
    real = posts.list_posts

    def listing(*args: Any) -> Any:
        found = real(*args)
        return [p._replace(**change) if i == 1 else p for i, p in enumerate(found)]

    return listing


def _drop_a_creator(ids: Any) -> Any:
    found = _REAL_USERS_BY_IDS(ids)
    found.pop(min(found), None)
    return found


_REAL_USERS_BY_IDS = accounts.users_by_ids
FAULTS: dict[str, tuple[Any, str, Callable[[], Any]]] = {
    "none": (posts, "list_posts", lambda: posts.list_posts),
    "posts unauthenticated": (posts, "list_posts", lambda: _raise(NotAuthenticated)),
    "post forbidden": (posts, "get_post", lambda: _raise(NotAuthorized)),
    "creators outage": (
        accounts,
        "users_by_ids",
        lambda: _raise(lambda: RedisConnectionError("down")),
    ),
    "me unexpected": (accounts, "current_user", lambda: _raise(lambda: KeyError("secret"))),
    "sessions outage": (user_sessions, "list_sessions", lambda: _raise(RedisConnectionError)),
    "missing creator": (accounts, "users_by_ids", lambda: _drop_a_creator),
    "null title": (posts, "list_posts", lambda: _corrupt_posts({"title": None})),
    "id out of range": (posts, "list_posts", lambda: _corrupt_posts({"id": 2**40})),
    "graphql error": (posts, "get_post", lambda: _raise(lambda: GraphQLError("on purpose"))),
}


@contextmanager
def fault(name: str) -> Iterator[None]:
    """Make one service function fail (or misbehave) for both apps inside the block."""
    module, attribute, make = FAULTS[name]
    real = getattr(module, attribute)
    setattr(module, attribute, make())
    try:
        yield
    finally:
        setattr(module, attribute, real)


def check(pair: Pair, case: Case, who: str, fault_name: str, on_plan: bool | None = None) -> None:
    """Compare one case under one fault."""
    with fault(fault_name):
        pair.compare(case, who, on_plan)


WHO = ("anonymous", "member")
FAULT_CYCLE = list(FAULTS)  # a fault only bites documents that reach its service


def run_generated(pair: Pair, examples: int, who: tuple[str, ...]) -> Counter[str]:
    """Compare ``examples`` generated documents; the outcomes seen, by status and codes."""
    schema = build_schema()
    turn = iter(range(10**9))

    @differential_settings(examples)
    @given(case=cases(schema))
    def run(case: Case) -> None:
        n = next(turn)  # who and which fault by turns, so each combination comes up often
        turns = len(FAULT_CYCLE)
        check(pair, case, who[n // turns % len(who)], FAULT_CYCLE[n % turns])

    run()
    assert sum(pair.outcomes.values()) >= examples
    return pair.outcomes


@pytest.mark.timeout(600)
def test_generated_queries_answer_exactly_as_graphql_core(pair: Pair, database_url: str) -> None:
    examples = GENERATED["sqlite" if database_url.startswith("sqlite") else "postgresql"]
    outcomes = run_generated(pair, examples, WHO)
    # not vacuous: most documents ran to data, and the error paths were all taken
    assert sum(n for key, n in outcomes.items() if key.startswith("200 True")) > examples // 3
    for code in ("UNAUTHENTICATED", "FORBIDDEN", "SERVICE_UNAVAILABLE", "INTERNAL_SERVER_ERROR"):
        assert any(code in key for key in outcomes), (code, outcomes)
    assert any(key.startswith("400 False") for key in outcomes), outcomes


def test_production_mode_answers_exactly_as_graphql_core(app_factory: Callable[..., Flask]) -> None:
    """Suggestions hidden, introspection refused: the plans get hide_suggestions too."""
    planned = app_factory(ProductionConfig, **GENEROUS_RATE_LIMITS)
    core = app_factory(ProductionConfig, GRAPHQL_EXECUTION_PLANS=False, **GENEROUS_RATE_LIMITS)
    clients = {"anonymous": (planned.test_client(), core.test_client())}
    outcomes = run_generated(Pair(planned, core, clients), 100, ("anonymous",))
    assert any(key.startswith("200 True") for key in outcomes), outcomes


SUITE_QUERIES = suite_documents(OperationType.QUERY)


def test_the_suite_sends_query_documents() -> None:
    assert len(SUITE_QUERIES) >= 10, SUITE_QUERIES
    assert "{ me { id username } }" in SUITE_QUERIES


@pytest.mark.parametrize("fault_name", ["none", "missing creator", "creators outage"])
def test_every_query_of_the_suite_answers_exactly_as_graphql_core(
    pair: Pair, fault_name: str
) -> None:
    for query in SUITE_QUERIES:
        operations = [d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)]
        names = {o.name.value for o in operations if o.name}
        introspects = re.search(r"__schema|__type\b", query) is not None
        for who in ("anonymous", "member"):
            for name in (None, "A", "B"):
                selected = name in names if name else len(operations) == 1
                on_plan = selected and not introspects and pair.valid(query)
                check(pair, Case(query, {}, name), who, fault_name, on_plan)
