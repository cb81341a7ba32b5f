"""In-process micro-benchmark: graphql-core's execute_sync against the compiled plan.

`python -m bench.plans` runs the product's schema (schema.graphql with the product's type
resolvers) with the Query fields and createPost served from memory: no HTTP, no database,
no Redis. Each case is checked to give the same result on both executors, then timed in
alternating rounds of --number executions in one process. The table gives each executor's best µs
per execution, the ratio of the bests, and the median of the per-round ratios (rounds run
back to back, so a busy machine's drift disturbs that one least).
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ariadne import MutationType, QueryType, load_schema_from_path, make_executable_schema
from graphql import ExecutionResult, GraphQLSchema, execute_sync, parse

from graphql_runtime.executor import SCHEMA_PATH
from graphql_runtime.plans import DocumentPlans
from graphql_runtime.resolvers import bindables
from graphql_runtime.resolvers.mutation import mutation as product_mutation
from graphql_runtime.resolvers.query import query as product_query
from models.rows import PostSummary, UserSummary

CASES = [
    ("`{ hello }`", "{ hello }"),
    ("`me { id username }`", "{ me { id username } }"),
    ("`posts { id title }` x20", "{ posts(limit: 20) { id title } }"),
    (
        "`posts { id title creator { username } }` x20",
        "{ posts(limit: 20) { id title creator { username } } }",
    ),
    ("`createPost { id title }`", 'mutation { createPost(title: "bench post") { id title } }'),
]
USERS = {i: UserSummary(i, f"user{i}", 1_700_000_000_000, 1_700_000_000_000) for i in range(1, 6)}
POSTS = [
    PostSummary(i, f"post number {i}", i % 5 + 1, 1_700_000_000_000 + i, 1_700_000_000_000 + i)
    for i in range(100)
]


class MemoryUsers:
    """The product's UserLoader interface, answered from memory."""

    def prime(self, user_ids: list[int]) -> None:
        """Nothing to batch: everything is in memory."""

    def get(self, user_id: int) -> UserSummary | None:
        """The user with this id."""
        return USERS.get(user_id)


@dataclass
class MemoryContext:
    """What the resolvers read from the request context."""

    users: MemoryUsers = field(default_factory=MemoryUsers)
    me: UserSummary = USERS[1]


def create_post(_: Any, info: Any, title: str) -> PostSummary:
    """A new post by the context's user, kept nowhere."""
    now = 1_700_000_001_000
    return PostSummary(len(POSTS), title, info.context.me.id, now, now)


def memory_schema() -> GraphQLSchema:
    """The product's schema and type resolvers, with Query fields and createPost in memory."""
    query = QueryType()
    query.set_field("hello", lambda *_: "hello world")
    query.set_field("me", lambda _, info: info.context.me)

    @query.field("posts")
    def resolve_posts(_: Any, info: Any, limit: int = 50, cursor: str | None = None) -> Any:
        found = POSTS[:limit]
        info.context.users.prime([post.creator_id for post in found])
        return found

    mutation = MutationType()
    mutation.set_field("createPost", create_post)
    others = [b for b in bindables if b not in (product_query, product_mutation)]
    return make_executable_schema(load_schema_from_path(SCHEMA_PATH), query, mutation, *others)


def executors(schema: GraphQLSchema, query: str) -> tuple[Callable[[], ExecutionResult], ...]:
    """(graphql-core, plan) executing ``query`` with a fresh context each time."""
    document = parse(query)
    plans = DocumentPlans(schema, document, hide=True)

    def core() -> ExecutionResult:
        return execute_sync(schema, document, context_value=MemoryContext(), hide_suggestions=True)

    def plan() -> ExecutionResult:
        result = plans.execute(None, None, MemoryContext())
        assert result is not None, "the plan does not cover this document"
        return result

    return core, plan


def us_per_run(run: Callable[[], Any], number: int) -> float:
    """µs per execution over ``number`` executions."""
    return timeit.timeit(run, number=number) / number * 1e6


def measure(core: Callable[[], Any], plan: Callable[[], Any], args: Any) -> tuple[float, ...]:
    """Best µs of each, and the median of the ratios of rounds run back to back."""
    core_us, plan_us, ratios = [], [], []
    for _ in range(args.rounds):  # alternate, so drift of the machine hits both alike
        core_us.append(us_per_run(core, args.number))
        plan_us.append(us_per_run(plan, args.number))
        ratios.append(core_us[-1] / plan_us[-1])
    return min(core_us), min(plan_us), statistics.median(ratios)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=300, help="executions per round")
    parser.add_argument("--rounds", type=int, default=11, help="rounds of each, alternating")
    args = parser.parse_args()
    schema = memory_schema()
    print("| document | graphql-core µs | plan µs | speed-up (bests) | speed-up (median) |")
    print("|---|---|---|---|---|")
    for label, query in CASES:
        core, plan = executors(schema, query)
        expected, got = core(), plan()
        assert (got.data, got.errors) == (expected.data, expected.errors), label
        assert list(str(got.data)) == list(str(expected.data)), label  # key order too
        core_us, plan_us, ratio = measure(core, plan, args)
        best = core_us / plan_us
        print(f"| {label} | {core_us:.1f} | {plan_us:.1f} | {best:.2f}x | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
