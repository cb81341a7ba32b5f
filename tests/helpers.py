"""Helpers shared by the tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

REGISTER = """
mutation Register($username: String!, $password: String!) {
  register(options: {username: $username, password: $password}) {
    errors { field message }
    user { id username createdAt updatedAt }
  }
}"""
LOGIN = """
mutation Login($username: String!, $password: String!) {
  login(options: {username: $username, password: $password}) {
    errors { field message }
    user { id username }
  }
}"""
ME = "{ me { id username } }"
LOGOUT = "mutation { logout }"
REGISTER_ALICE = (
    'mutation { register(options: {username: "alice", password: "correct horse"}) { user { id } } }'
)
CREATE_POST = (
    "mutation Create($title: String!) { createPost(title: $title) { id title creatorId } }"
)


class GraphQLClient:
    """Posts GraphQL operations as JSON through a Flask test client."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post(self, query: str, **variables: Any) -> TestResponse:
        """The raw response to an operation."""
        return self.client.post("/graphql", json={"query": query, "variables": variables})

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        """The JSON body of the response to an operation."""
        body: dict[str, Any] = self.post(query, **variables).get_json()
        return body

    def register(self, username: str = "alice", password: str = "correct horse") -> dict[str, Any]:
        """Register and return the register payload."""
        payload: dict[str, Any] = self(REGISTER, username=username, password=password)["data"][
            "register"
        ]
        return payload

    def login(self, username: str = "alice", password: str = "correct horse") -> dict[str, Any]:
        """Log in and return the login payload."""
        payload: dict[str, Any] = self(LOGIN, username=username, password=password)["data"]["login"]
        return payload

    def me(self) -> Any:
        """The user ``me`` answers with (a dict, or None)."""
        return self(ME)["data"]["me"]


def cookie_value(client: FlaskClient, name: str = "qid") -> str | None:
    """The value of a cookie in the client's jar."""
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def set_cookies(response: TestResponse) -> list[str]:
    """The Set-Cookie headers of a response."""
    return response.headers.getlist("Set-Cookie")


@contextmanager
def count_redis_commands(server: redis.Redis) -> Iterator[dict[str, int]]:
    """Count, by lowercase name, the commands run on the test database inside the block."""
    counts: dict[str, int] = {}
    with database_commands(server) as commands:
        yield counts
    for command in commands:
        name = command.split(" ", 1)[0].lower()
        counts[name] = counts.get(name, 0) + 1


@contextmanager
def database_commands(server: redis.Redis) -> Iterator[list[str]]:
    """The commands run on ``server``'s database inside the block, as MONITOR reports them.

    Unlike INFO's counters this sees only the test database, so other users of a shared
    Redis server do not count; ECHOs of unique markers tell where the block began and ended.
    """
    database = server.connection_pool.connection_kwargs.get("db", 0)
    commands: list[str] = []
    with server.monitor() as monitor:
        _read_until_marker(server, monitor, database, [])  # connection set-up happens here
        yield commands
        _read_until_marker(server, monitor, database, commands)


def _read_until_marker(
    server: redis.Redis, monitor: Any, database: int, commands: list[str]
) -> None:
    marker = f"marker-{secrets.token_hex(8)}"
    server.echo(marker)
    while marker not in (seen := monitor.next_command())["command"]:
        if int(seen["db"]) == database:
            commands.append(seen["command"])
