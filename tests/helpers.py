"""Helpers shared by the tests."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from flask import Flask
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
# Tests of a Redis deployment: the database is not what they test, so SQLite alone.
POST = "query P($id: Int!) { post(id: $id) { id title } }"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class GraphQLClient:
    """Posts GraphQL operations as JSON through a Flask test client.

    A response with top-level ``errors`` fails the test, unless the call says
    ``expect_errors=True``: an error nobody asserts on must not pass unseen.
    """

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post(self, query: str, *, expect_errors: bool = False, **variables: Any) -> TestResponse:
        """The raw response to an operation."""
        response = self.client.post("/graphql", json={"query": query, "variables": variables})
        body = response.get_json(silent=True)
        if not expect_errors and isinstance(body, dict) and body.get("errors"):
            pytest.fail(
                f"unexpected GraphQL errors (HTTP {response.status_code}): {body['errors']}"
            )
        return response

    def __call__(
        self, query: str, *, expect_errors: bool = False, **variables: Any
    ) -> dict[str, Any]:
        """The JSON body of the response to an operation."""
        body: dict[str, Any] = self.post(query, expect_errors=expect_errors, **variables).get_json()
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


def registered_clients(app: Flask, count: int) -> dict[str, GraphQLClient]:
    """``count`` users, user0, user1 ..., each registered and logged in on a client of its own."""
    clients = {}
    for i in range(count):
        gql = GraphQLClient(app.test_client())
        assert gql.register(f"user{i}")["user"]["username"] == f"user{i}"
        clients[f"user{i}"] = gql
    return clients


def cookie_value(client: FlaskClient, name: str = "qid") -> str | None:
    """The value of a cookie in the client's jar."""
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def set_cookies(response: TestResponse) -> list[str]:
    """The Set-Cookie headers of a response."""
    return response.headers.getlist("Set-Cookie")


@contextmanager
def count_redis_commands(server: redis.Redis) -> Iterator[dict[str, int]]:
    """Count, by lowercase name, the commands Redis executes on ``server``'s database inside
    the block (see database_commands)."""
    counts: dict[str, int] = {}
    with database_commands(server) as commands:
        yield counts
    for command in commands:
        name = command.partition(" ")[0].lower()
        counts[name] = counts.get(name, 0) + 1


@contextmanager
def database_commands(server: redis.Redis) -> Iterator[list[str]]:
    """The commands Redis executes on ``server``'s database inside the block, in order.

    Read from MONITOR, which names each command's database: INFO commandstats counts the
    whole server, where other test runs may be busy on other databases.
    """
    database = server.connection_pool.connection_kwargs.get("db", 0)
    end = f"database-commands-end-{secrets.token_hex(4)}"
    commands: list[str] = []
    # Connected now, so its handshake (SELECT ...) is not among the commands seen.
    signal = redis.Redis(connection_pool=server.connection_pool, single_connection_client=True)
    with signal, server.monitor() as monitor:
        yield commands
        signal.echo(end)  # the last command the monitor shows for this block
        while (seen := monitor.next_command())["command"] != f"ECHO {end}":
            if seen["db"] == database:
                commands.append(seen["command"])


def raw_post(client: GraphQLClient, query: str, variables: dict[str, Any]) -> TestResponse:
    """Post JSON written by hand (json.dumps keeps lone surrogates as \\ud800 escapes)."""
    body = json.dumps({"query": query, "variables": variables})
    return client.client.post("/graphql", data=body, content_type="application/json")


def code_of(response: TestResponse) -> str:
    """The code of the single GraphQL error of a response."""
    [error] = response.get_json()["errors"]
    return str(error["extensions"]["code"])
