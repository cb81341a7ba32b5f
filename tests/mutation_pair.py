"""Mutations on plans against graphql-core: each case runs twice from the same known state
(tests/mutation_state.py), once on each app, and everything it did must be the same: the
HTTP status, Retry-After, the body's bytes, and the rows and Redis keys it left.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

from flask import Flask

from graphql_runtime.executor import QueryExecutor
from models import User
from services import reset_tokens
from sessions.index import public_id
from tests.execution_plan_cases import Case
from tests.helpers import CREATE_POST, GraphQLClient, cookie_value
from tests.mutation_state import SEED, Snapshot, StateStore, pinned

PASSWORD = "correct horse"
REGISTER = "mutation R($o: UsernamePasswordInput!) { register(options: $o) { user { id } } }"
HEADERS = {"X-Request-Id": "req-differential"}


@dataclasses.dataclass(frozen=True)
class Known:
    """The known state, and what cases need to know of it."""

    snapshot: Snapshot
    state: dict[str, Any]  # as StateStore.read gives it, to tell which runs wrote
    member_sid: str
    reset_token: str


@dataclasses.dataclass(frozen=True)
class Observed:
    """All a run of a case did."""

    status: int
    retry_after: str | None
    body: bytes
    state: dict[str, Any]


def _register(app: Flask, name: str) -> GraphQLClient:
    client = GraphQLClient(app.test_client())
    options = {"username": name, "password": PASSWORD, "email": f"{name}@example.com"}
    assert client(REGISTER, o=options)["data"]["register"]["user"]
    for n in range(2):
        assert client(CREATE_POST, title=f"{name} post {n}")["data"]["createPost"]
    return client


def build_known(app: Flask, states: StateStore) -> Known:
    """Users 1 (writer) and 2 (member) with posts 1-2 and 3-4, the member logged in."""
    states.empty()
    with pinned(SEED + 1):  # other draws than a run's: a run's new session ids are new
        _register(app, "writer")
        member = _register(app, "member")
        with app.app_context():
            token = reset_tokens.issue(User.query.filter_by(username="member").one(), 3600)
    sid = cookie_value(member.client)
    assert sid
    return Known(states.take(), states.read(), sid, token)


def _outcome(status: int, body: dict[str, Any]) -> str:
    codes = sorted({e.get("extensions", {}).get("code", "-") for e in body.get("errors", [])})
    return f"{status} {body.get('data') is not None} {','.join(codes)}"


@dataclasses.dataclass
class MutationPair:
    """A planned app and a graphql-core app on one database and Redis, and its known state."""

    planned: Flask
    core: Flask
    states: StateStore
    known: Known
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    wrote: int = 0  # cases whose runs changed the state

    def executor(self, app: Flask) -> QueryExecutor:
        """The app's GraphQL executor."""
        executor: QueryExecutor = app.extensions["graphql"]
        return executor

    def session_public_id(self) -> str:
        """The member's session as revokeSession names it."""
        return public_id(self.known.member_sid)

    def run(self, app: Flask, case: Case, who: str) -> Observed:
        """Restore the known state, send the case as ``who`` from a fresh client, observe."""
        self.states.restore(self.known.snapshot)
        client = app.test_client()
        if who == "member":
            client.set_cookie("qid", self.known.member_sid)
        payload: dict[str, Any] = {"query": case.query, "variables": case.variables}
        if case.operation_name:
            payload["operationName"] = case.operation_name
        with pinned():
            response = client.post("/graphql", json=payload, headers=HEADERS)
        retry_after = response.headers.get("Retry-After")
        return Observed(response.status_code, retry_after, response.get_data(), self.states.read())

    def compare(self, case: Case, who: str, on_plan: bool | None = None) -> Observed:
        """Run ``case`` on both apps: the same in every respect, and on the plan when
        ``on_plan`` (None: whenever the document is valid)."""
        stats = self.executor(self.planned).plan_stats
        before = (stats.planned, stats.fallback)
        got = self.run(self.planned, case, who)
        want = self.run(self.core, case, who)
        context = f"{case} as {who}\n{want.body[:2000]!r}"
        assert got.status == want.status, context
        assert got.retry_after == want.retry_after, context
        assert got.body == want.body, f"{context}\n{got.body[:2000]!r}"
        assert got.state == want.state, f"{context}\n{_difference(got.state, want.state)}"
        if on_plan is None:
            on_plan = self.executor(self.planned).prepare(case.query).document is not None
        if on_plan:
            assert (stats.planned, stats.fallback) == (before[0] + 1, before[1]), context
        assert self.executor(self.core).plan_stats.planned == 0
        self.outcomes[_outcome(want.status, json.loads(want.body))] += 1
        self.wrote += want.state != self.known.state
        return want


def _difference(got: dict[str, Any], want: dict[str, Any]) -> str:
    """The parts of two states that differ, planned first."""
    parts = [name for name in want if got.get(name) != want[name]]
    return "\n".join(f"{name}:\n  plan {got.get(name)}\n  core {want[name]}" for name in parts)
