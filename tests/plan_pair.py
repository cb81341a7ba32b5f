"""Two apps on the same state, one answering on compiled plans and one on graphql-core, for
the differential tests (test_execution_plans.py, test_execution_plan_switch.py); the
``pair`` fixture in conftest builds them with ``make_pair``."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from graphql_runtime.executor import QueryExecutor
from tests.execution_plan_cases import Case
from tests.helpers import CREATE_POST, GraphQLClient, cookie_value
from tests.side_effects import GENEROUS_RATE_LIMITS


@dataclasses.dataclass
class Pair:
    """A planned app and a graphql-core app, each with an anonymous and a member client."""

    planned: Flask
    core: Flask
    clients: dict[str, tuple[FlaskClient, FlaskClient]]
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)

    def valid(self, query: str) -> bool:
        """Whether the document parses and validates."""
        return self.executor(self.planned).prepare(query).document is not None

    def executor(self, app: Flask) -> QueryExecutor:
        """The app's GraphQL executor."""
        executor: QueryExecutor = app.extensions["graphql"]
        return executor

    def compare(self, case: Case, who: str, on_plan: bool | None = None) -> None:
        """Send ``case`` to both apps as ``who``: identical answers, and the plan path
        taken when ``on_plan`` (None: whenever the document is valid)."""
        payload = {"query": case.query, "variables": case.variables}
        if case.operation_name:
            payload["operationName"] = case.operation_name
        headers = {"X-Request-Id": "req-differential"}
        stats = self.executor(self.planned).plan_stats
        before = (stats.planned, stats.fallback)
        planned_client, core_client = self.clients[who]
        got = planned_client.post("/graphql", json=payload, headers=headers)
        want = core_client.post("/graphql", json=payload, headers=headers)
        context = f"{case}\n{want.get_data(as_text=True)[:2000]}"
        assert got.status_code == want.status_code, context
        assert got.headers.get("Retry-After") == want.headers.get("Retry-After"), context
        assert got.get_data(as_text=True) == want.get_data(as_text=True), context
        if on_plan is None:
            on_plan = self.valid(case.query)
        if on_plan:
            assert (stats.planned, stats.fallback) == (before[0] + 1, before[1]), context
        assert self.executor(self.core).plan_stats.planned == 0
        self.outcomes[_outcome(want.status_code, want.get_json())] += 1


def _outcome(status: int, body: dict[str, Any]) -> str:
    codes = sorted({e.get("extensions", {}).get("code", "-") for e in body.get("errors", [])})
    return f"{status} {'data' in body} {','.join(codes)}"


def make_pair(app_factory: Callable[..., Flask]) -> Pair:
    """Both apps on the same state: two users with posts, a member logged in on both."""
    planned = app_factory(**GENEROUS_RATE_LIMITS)
    core = app_factory(GRAPHQL_EXECUTION_PLANS=False, **GENEROUS_RATE_LIMITS)
    member = GraphQLClient(planned.test_client())
    for name in ("writer", "member"):
        assert member.register(name)["user"]
        for n in range(3):
            assert member(CREATE_POST, title=f"{name} post {n}")["data"]["createPost"]
    member_core = core.test_client()
    member_core.set_cookie("qid", cookie_value(member.client) or "")
    anonymous = (planned.test_client(), core.test_client())
    return Pair(planned, core, {"anonymous": anonymous, "member": (member.client, member_core)})
