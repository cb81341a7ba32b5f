"""The benchmark's workloads: what is sent, to whom, and what a correct answer looks like."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.targets import CREATE_POST_QUERY, LOGIN_QUERY, PASSWORD, SEED_POSTS, USERNAME

# Kinds of target (each runs under every server of the run); "noplans" is the product with
# GRAPHQL_EXECUTION_PLANS=0, measured on the listings only.
ALL = ("product", "base", "peer", "floor", "flask")
PYTHON = ("product", "base", "floor", "flask")
WITH_PLANS_OFF = (*ALL, "noplans")
Check = Callable[[Any], bool]


def _me_is_bench(answer: Any) -> bool:
    return bool(answer["data"]["me"] and answer["data"]["me"]["username"] == USERNAME)


def _posts_ok(answer: Any, creator: bool = False) -> bool:
    items = answer["data"]["posts"]
    named = all(p["creator"]["username"] == USERNAME for p in items) if creator else True
    return len(items) == SEED_POSTS and named


@dataclass(frozen=True)
class Workload:
    """One benchmark case."""

    id: str
    label: str
    query: str | None  # None: REST GET /me
    check: Check
    logged_in: bool = False
    targets: tuple[str, ...] = ALL
    variables: dict[str, Any] | None = None
    mutates: bool = False  # adds posts: the databases are put back after the case
    argon2: bool = False  # argon2-bound: long timeout, the server settles afterwards
    no_snapshot: bool = False  # a session record without the product's user snapshot

    @property
    def method(self) -> str:
        """POST for GraphQL, GET for REST."""
        return "GET" if self.query is None else "POST"

    @property
    def path(self) -> str:
        """Where the request goes."""
        return "/me" if self.query is None else "/graphql"


LOGIN_VARIABLES = {"options": {"username": USERNAME, "password": PASSWORD}}

WORKLOADS = [
    Workload("hello", "`{ hello }`", "{ hello }", lambda a: a["data"]["hello"] == "hello world"),
    Workload("me", "`me` logged in", "{ me { id username } }", _me_is_bench, logged_in=True),
    Workload(
        "me_anon", "`me` anonymous", "{ me { id username } }", lambda a: a["data"]["me"] is None
    ),
    Workload(
        "posts",
        "`posts { id title }` x20",
        "{ posts { id title } }",
        _posts_ok,
        targets=WITH_PLANS_OFF,
    ),
    Workload(
        "posts_creator",
        "`posts { id title creator { username } }` x20",
        "{ posts { id title creator { username } } }",
        lambda a: _posts_ok(a, creator=True),
        targets=(*PYTHON, "noplans"),  # the peer's Post has no creator field
    ),
    Workload(
        "create_post",
        "`createPost` logged in",
        CREATE_POST_QUERY,
        lambda a: a["data"]["createPost"]["title"] == "bench post",
        logged_in=True,
        mutates=True,
    ),
    Workload(
        "login",
        "`login` (argon2id m=64MiB t=3 p=4)",
        LOGIN_QUERY,
        lambda a: a["data"]["login"]["user"]["username"] == USERNAME,
        variables=LOGIN_VARIABLES,
        argon2=True,
    ),
    Workload(
        "rest_me",
        "REST `GET /me` logged in",
        None,
        lambda a: a["user"]["username"] == USERNAME,
        logged_in=True,
        targets=PYTHON,  # the peer has no REST endpoint
    ),
    Workload(
        "me_sql",
        "`me` logged in, session without the user snapshot (+1 SELECT)",
        "{ me { id username } }",
        _me_is_bench,
        logged_in=True,
        targets=PYTHON,
        no_snapshot=True,
    ),
]
HELLO_UNDER_LOGIN = "hello_under_login"
HELLO_UNDER_LOGIN_LABEL = "`{ hello }` while 4 other connections log in"
HELLO_UNDER_LOGIN_KINDS = ("product", "base", "peer", "flask")
KNOWN_IDS = [w.id for w in WORKLOADS] + [HELLO_UNDER_LOGIN]
# What the targets of issues 10 and 11 are about (with `me` anonymous for the Redis check);
# login, REST /me and `me` without the snapshot run with --workloads all (or by name).
DEFAULT_IDS = ["hello", "me", "me_anon", "posts", "posts_creator", "create_post"]
DEFAULT_IDS.append(HELLO_UNDER_LOGIN)


def by_id(ids: list[str]) -> list[Workload]:
    """The workloads named, in the benchmark's order."""
    unknown = set(ids) - set(KNOWN_IDS)
    if unknown:
        raise SystemExit(f"unknown workloads: {', '.join(sorted(unknown))}; known: {KNOWN_IDS}")
    return [w for w in WORKLOADS if w.id in ids]
