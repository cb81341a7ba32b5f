"""Generated traffic: schema-driven GraphQL fuzzing and a stateful model of sessions.

- hypothesis-graphql builds valid operations (and operations with one schema violation)
  from schema.graphql; whatever they ask, the server never answers with a 5xx or an
  INTERNAL_SERVER_ERROR.
- A state machine drives register/login/logout/createPost across three clients and checks
  the session rules after every step: ``me`` is the last successful login of that client,
  a cookie that was logged out or replaced never authenticates again, ids never repeat.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from hypothesis_graphql import Mode, from_schema

from graphql_runtime.executor import SCHEMA_PATH
from tests.helpers import CREATE_POST, GraphQLClient, cookie_value

pytestmark = pytest.mark.generous_rate_limits

SDL = Path(SCHEMA_PATH).read_text()
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_no_server_error(response: Any) -> None:
    """No 5xx, a JSON body, and no masked internal error inside it."""
    text = response.get_data(as_text=True)
    assert response.status_code < 500, text[:500]
    assert response.is_json, text[:500]
    codes = [e.get("extensions", {}).get("code") for e in response.get_json().get("errors", [])]
    assert "INTERNAL_SERVER_ERROR" not in codes, text[:500]


@pytest.fixture
def member(gql: GraphQLClient) -> GraphQLClient:
    """A registered client; generated mutations may log it out, so it logs back in."""
    assert gql.register("member")["user"]
    return gql


def keep_logged_in(client: GraphQLClient) -> None:
    """Log the member back in if a generated operation logged it out or switched user."""
    me = client.me()
    if me is None or me["username"] != "member":
        assert client.login("member")["user"]


@FUZZ
@given(query=from_schema(SDL))
def test_valid_generated_operations_never_fail_the_server(
    member: GraphQLClient, query: str
) -> None:
    assert_no_server_error(member.post(query, expect_errors=True))  # field errors may come
    keep_logged_in(member)


@FUZZ
@given(query=from_schema(SDL, mode=Mode.NEGATIVE))
def test_invalid_generated_operations_are_client_errors(member: GraphQLClient, query: str) -> None:
    response = member.post(query, expect_errors=True)
    assert_no_server_error(response)
    assert response.status_code == 400 or response.get_json().get("errors"), query


# --- sessions as a state machine ------------------------------------------------------------

CLIENTS = 3
WHO = st.integers(0, CLIENTS - 1)
NAMES = st.sampled_from(["ann", "bob", "cyd"])
PASSWORDS = st.sampled_from(["password one", "password two"])
TAKEN = [{"field": "username", "message": "username already taken"}]


class Sessions(RuleBasedStateMachine):
    """Three browsers; a model of who each is logged in as, checked against the server."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app
        self.clients = [GraphQLClient(app.test_client()) for _ in range(CLIENTS)]
        self.prefix = secrets.token_hex(3)  # users of one run never collide with another's
        self.passwords: dict[str, str] = {}
        self.user_ids: dict[str, int] = {}
        self.logged_in: list[str | None] = [None] * CLIENTS
        self.retired: list[str] = []  # session ids logged out or replaced by a login
        self.issued: set[str] = set()

    def _name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _new_session(self, index: int, before: str | None) -> None:
        sid = cookie_value(self.clients[index].client)
        assert sid and sid != before and sid not in self.issued, "session ids never repeat"
        self.issued.add(sid)
        if before:
            self.retired.append(before)

    def _account_call(self, index: int, mutation: str, username: str, password: str) -> Any:
        client = self.clients[index]
        before = cookie_value(client.client)
        payload = getattr(client, mutation)(username, password)
        if payload["user"] is None:
            assert cookie_value(client.client) == before  # a refusal changes no session
        else:
            assert payload["user"]["username"] == username
            self.user_ids[username] = payload["user"]["id"]
            self.logged_in[index] = username
            self._new_session(index, before)
        return payload

    @rule(index=WHO, name=NAMES, password=PASSWORDS)
    def register(self, index: int, name: str, password: str) -> None:
        username = self._name(name)
        payload = self._account_call(index, "register", username, password)
        if username in self.passwords:
            assert payload == {"errors": TAKEN, "user": None}
        else:
            assert payload["errors"] is None
            self.passwords[username] = password

    @rule(index=WHO, name=NAMES, password=PASSWORDS)
    def login(self, index: int, name: str, password: str) -> None:
        username = self._name(name)
        payload = self._account_call(index, "login", username, password)
        assert (payload["user"] is not None) == (self.passwords.get(username) == password)

    @rule(index=WHO)
    def logout(self, index: int) -> None:
        client = self.clients[index]
        before = cookie_value(client.client)
        assert client("mutation { logout }") == {"data": {"logout": True}}
        assert cookie_value(client.client) is None
        if before:
            self.retired.append(before)
        self.logged_in[index] = None

    @rule(index=WHO)
    def create_post(self, index: int) -> None:
        username = self.logged_in[index]
        body = self.clients[index](
            CREATE_POST, expect_errors=username is None, title="from the state machine"
        )
        if username is None:
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        else:
            assert body["data"]["createPost"]["creatorId"] == self.user_ids[username]

    @precondition(lambda self: self.retired)
    @rule(data=st.data())
    def replay_a_retired_cookie(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from(self.retired))
        replay = self.app.test_client()
        replay.set_cookie("qid", sid)
        assert GraphQLClient(replay).me() is None

    @invariant()
    def me_is_the_last_login(self) -> None:
        for client, username in zip(self.clients, self.logged_in, strict=True):
            me = client.me()
            assert (me["username"] if me else None) == username


def test_session_rules_hold_for_any_sequence(app: Flask) -> None:
    class OnThisApp(Sessions):
        def __init__(self) -> None:
            super().__init__(app)

    run_state_machine_as_test(
        OnThisApp,
        settings=settings(
            max_examples=20,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
