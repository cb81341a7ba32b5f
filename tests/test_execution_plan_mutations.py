"""Mutations on compiled plans answer and write exactly as on graphql-core: a differential test.

Every mutation document the test suite sends (with variables that name the known state's
posts, session and reset token, or ones that miss), and documents hypothesis-graphql draws
for the Mutation type, run as an anonymous client and as the logged-in member, sometimes
with a service function made to fail (an outage of the database or Redis, an unexpected
error, a refusal). Each case runs once per app from the same known state
(tests/mutation_pair.py): status, Retry-After, body bytes and the rows and Redis keys left
behind must be the same, and every valid case must have run on its plan.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
import redis
from flask import Flask
from graphql import OperationDefinitionNode, OperationType, parse, print_ast
from hypothesis import given
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from config import normalise_database_url
from graphql_runtime.executor import build_schema
from services import accounts, auth, posts
from services.errors import NotAuthorized
from tests.execution_plan_cases import Case, cases, differential_settings, suite_documents
from tests.mutation_pair import PASSWORD, MutationPair, build_known
from tests.mutation_state import Patch, StateStore, patched
from tests.side_effects import GENEROUS_RATE_LIMITS

# generated documents per run, per database (MUTATION_PLANS_EXAMPLES overrides SQLite's)
GENERATED = {"sqlite": int(os.environ.get("MUTATION_PLANS_EXAMPLES", "1200")), "postgresql": 400}
WHO = ("anonymous", "member")
# generated cases by turns: twice as often as the member, as most mutations need a login
GENERATED_WHO = ("anonymous", "member", "member")
# Mutation fields carry more arguments than query fields: fewer of them sent as junk or
# null, so that more documents run past variable coercion.
MODES = ("literal", "literal", "variable", "variable", "variable", "default", "junk")
CODES = ("UNAUTHENTICATED", "FORBIDDEN", "SERVICE_UNAVAILABLE", "INTERNAL_SERVER_ERROR")


def _raise(error: Callable[[], Exception]) -> Callable[..., Any]:
    def fail(*_: Any, **__: Any) -> Any:
        raise error()

    return fail


def _database_down() -> Exception:
    return OperationalError("INSERT INTO post ...", {}, ConnectionRefusedError("down"))


FAULTS: dict[str, list[Patch]] = {
    "none": [],
    "database outage": [(posts, "create_post", _raise(_database_down))],
    "redis outage": [(auth, "log_out", _raise(RedisConnectionError))],
    "unexpected": [(accounts, "log_in_with_password", _raise(lambda: KeyError("secret")))],
    "forbidden": [
        (posts, "update_post", _raise(NotAuthorized)),
        (posts, "delete_post", _raise(NotAuthorized)),
    ],
}
FAULT_CYCLE = list(FAULTS)  # a fault only bites documents that reach its service


@pytest.fixture
def mutation_pair(
    app_factory: Callable[..., Flask], database_url: str, redis_server: redis.Redis
) -> Iterator[MutationPair]:
    """Both apps, and the known state made on the test database and Redis."""
    planned = app_factory(**GENEROUS_RATE_LIMITS)
    core = app_factory(GRAPHQL_EXECUTION_PLANS=False, **GENEROUS_RATE_LIMITS)
    engine = create_engine(normalise_database_url(database_url))
    states = StateStore(engine, redis_server)
    yield MutationPair(planned, core, states, build_known(planned, states))
    engine.dispose()


def check(pair: MutationPair, case: Case, who: str, fault: str, on_plan: bool | None = None) -> Any:
    """Compare one case under one fault; the graphql-core run's observation."""
    with patched(FAULTS[fault]):
        return pair.compare(case, who, on_plan)


def _fold_ids(case: Case) -> Case:
    """Half the ints sent as variables folded onto ids 0-5: posts 1-4 exist, two of them
    the member's, so updates and deletes are found, refused and missed."""
    variables = {
        name: (value // 2) % 6 if type(value) is int and value % 2 == 0 else value
        for name, value in case.variables.items()
    }
    return Case(case.query, variables, case.operation_name)


@pytest.mark.timeout(600)
def test_generated_mutations_answer_and_write_exactly_as_graphql_core(
    mutation_pair: MutationPair, database_url: str
) -> None:
    examples = GENERATED["sqlite" if database_url.startswith("sqlite") else "postgresql"]
    schema = build_schema()
    assert schema.mutation_type is not None
    generated = cases(schema, list(schema.mutation_type.fields), OperationType.MUTATION, MODES)
    turn = count()

    @differential_settings(examples)
    @given(case=generated.map(_fold_ids))
    def run(case: Case) -> None:
        n, turns = next(turn), len(FAULT_CYCLE)  # who and fault by turns, so all pairs come up
        who = GENERATED_WHO[n // turns % len(GENERATED_WHO)]
        check(mutation_pair, case, who, FAULT_CYCLE[n % turns])

    run()
    outcomes = mutation_pair.outcomes
    assert sum(outcomes.values()) >= examples
    # not vacuous: most cases executed (the rest were refused by validation or variable
    # coercion), a third or more ran to data, many wrote, and the error paths were all taken
    assert sum(n for key, n in outcomes.items() if key[:3] in {"200", "503"}) > examples // 2
    assert sum(n for key, n in outcomes.items() if key.startswith("200 True")) > examples // 3
    assert mutation_pair.wrote > examples // 20, mutation_pair.wrote
    for code in (*CODES, "BAD_USER_INPUT"):
        assert any(code in key for key in outcomes), (code, outcomes)


SUITE_MUTATIONS = suite_documents(OperationType.MUTATION)


def test_the_suite_sends_mutation_documents() -> None:
    assert len(SUITE_MUTATIONS) >= 20, SUITE_MUTATIONS
    assert 'mutation { createPost(title: "bench post") { id title } }' in SUITE_MUTATIONS


SUCCESSES = (
    b'"changePassword":{"errors":null,"user":{"id":2',
    b'"revokeSession":true',
    b'"updatePost":{"id":3,"title":"suite title"}',
    b'"deletePost":true',
    b'"login":{"errors":null,"user":{"id":2',
)


def suite_values(pair: MutationPair) -> dict[str, dict[str, Any]]:
    """Variable values by name (or name:type): ``hit`` names the known state, ``miss`` not."""
    member = {"username": "member", "password": PASSWORD}
    newbie = {"username": "newbie", "password": "a new horse"}
    hit = {
        "email": "member@example.com",
        "token": pair.known.reset_token,
        "id:Int": 3,  # the member's own post
        "id:String": pair.session_public_id(),
        "t": "suite title",
        "title": "suite title",
        **{key: member["username"] for key in ("username", "u")},
        **{key: PASSWORD for key in ("password", "p")},
        **{key: member for key in ("o", "options")},
    }
    miss = {
        "email": "nobody@example.com",
        "token": "no-such-token",
        "id:Int": 1,  # the writer's post: the member may not change it
        "id:String": "no-such-session",
        "t": "",
        "title": "",
        **{key: newbie["username"] for key in ("username", "u")},
        **{key: newbie["password"] for key in ("password", "p")},
        **{key: newbie for key in ("o", "options")},
    }
    return {"hit": hit, "miss": miss}


def suite_variables(query: str, values: dict[str, Any]) -> dict[str, Any]:
    """The variables of the document's operations, from ``values`` (left out when unknown)."""
    found: dict[str, Any] = {}
    for operation in parse(query).definitions:
        assert isinstance(operation, OperationDefinitionNode)
        for definition in operation.variable_definitions or ():
            name, type_name = definition.variable.name.value, print_ast(definition.type)
            typed = f"{name}:{type_name.rstrip('!')}"
            if typed in values or name in values:
                found[name] = values.get(typed, values.get(name))
    return found


@pytest.mark.parametrize(
    ("fault", "sets"), [("none", ("hit", "miss")), *((f, ("hit",)) for f in FAULT_CYCLE[1:])]
)
def test_every_mutation_of_the_suite_answers_and_writes_exactly_as_graphql_core(
    mutation_pair: MutationPair, fault: str, sets: tuple[str, ...]
) -> None:
    values, bodies = suite_values(mutation_pair), []
    for query in SUITE_MUTATIONS:
        for which in sets:
            case = Case(query, suite_variables(query, values[which]), None)
            for who in WHO:
                bodies.append(check(mutation_pair, case, who, fault, on_plan=True).body)
    assert any(key.startswith("200 True") for key in mutation_pair.outcomes)
    if fault == "none":  # the known state's token, session and posts were found
        assert all(any(s in body for body in bodies) for s in SUCCESSES), SUCCESSES


def test_a_nullable_root_error_lets_later_fields_run_and_a_non_null_one_stops_them(
    mutation_pair: MutationPair,
) -> None:
    later = 'mutation { a: updatePost(id: 1, title: "x") { id } b: createPost(title: "z") { id } }'
    seen = check(mutation_pair, Case(later, {}, None), "member", "none", on_plan=True)
    body = json.loads(seen.body)
    assert body["data"] == {"a": None, "b": {"id": 5}}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert [p["title"] for p in seen.state["post"]][-1] == "z"
    stopped = 'mutation { a: createPost(title: "") { id } b: createPost(title: "never") { id } }'
    seen = check(mutation_pair, Case(stopped, {}, None), "member", "none", on_plan=True)
    assert json.loads(seen.body)["data"] is None
    assert seen.state == mutation_pair.known.state  # the second createPost never ran
