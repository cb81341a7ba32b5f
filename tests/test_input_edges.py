"""Hostile field values: the same clear 4xx or field error on SQLite and PostgreSQL, never a 5xx.

Long strings, NUL bytes, lone surrogates, control and invisible characters, Unicode that must
round-trip exactly, and ids that are not 32-bit integers. The property tests, drawing from
every Unicode category, are test_input_properties.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from werkzeug.test import TestResponse

from tests.helpers import (
    CREATE_POST,
    POST,
    REGISTER,
    GraphQLClient,
    code_of,
    cookie_value,
    raw_post,
)
from tests.side_effects import count_sql, table_count

pytestmark = pytest.mark.generous_rate_limits

UPDATE = "mutation U($id: Int!, $t: String) { updatePost(id: $id, title: $t) { id title } }"
DELETE = "mutation D($id: Int!) { deletePost(id: $id) }"
INT32_MAX = 2**31 - 1


@pytest.fixture
def hashing_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the argon2 operations run (the real ones, only counted)."""
    calls: list[str] = []
    for name in ("hash", "verify"):
        real = getattr(PasswordHasher, name)

        def counted(self: PasswordHasher, *args: Any, _real: Any = real, _name: str = name) -> Any:
            calls.append(_name)
            return _real(self, *args)

        monkeypatch.setattr(PasswordHasher, name, counted)
    yield calls


def field_errors(response: TestResponse, mutation: str = "register") -> list[str]:
    """The fields named by a register/login payload's errors (a 200 with data)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    payload = response.get_json()["data"][mutation]
    assert payload["user"] is None
    return [e["field"] for e in payload["errors"]]


def register(
    client: GraphQLClient, username: str, password: str = "correct horse", expect_errors=False
) -> TestResponse:
    """The raw response to a register mutation."""
    return client.post(REGISTER, expect_errors=expect_errors, username=username, password=password)


def create(client: GraphQLClient, title: str, expect_errors: bool = False) -> TestResponse:
    """The raw response to createPost."""
    return client.post(CREATE_POST, expect_errors=expect_errors, title=title)


# --- sizes -----------------------------------------------------------------------------


def test_ten_kilobyte_username_is_a_field_error(app: Flask, gql: GraphQLClient) -> None:
    assert field_errors(register(gql, "a" * 10_240)) == ["username"]
    assert table_count(app, "user") == 0
    assert cookie_value(gql.client) is None


def test_megabyte_title_is_413_and_stores_nothing(app: Flask, alice: GraphQLClient) -> None:
    response = create(alice, "t" * 1_048_576, expect_errors=True)
    assert response.status_code == 413 and response.is_json
    [error] = response.get_json()["errors"]
    assert error["extensions"]["code"] == "REQUEST_ENTITY_TOO_LARGE"
    assert table_count(app, "post") == 0


def test_title_length_limit_is_the_same_on_every_database(app: Flask, alice) -> None:
    assert code_of(create(alice, "x" * 1_001, expect_errors=True)) == "BAD_USER_INPUT"
    longest = "😀" * 1_000  # 1,000 characters, 4,000 bytes of UTF-8
    post = create(alice, longest).get_json()["data"]["createPost"]
    assert alice(POST, id=post["id"])["data"]["post"]["title"] == longest


def test_megabyte_password_is_refused_before_hashing(gql, hashing_calls: list[str]) -> None:
    assert register(gql, "bob", "p" * 1_048_576, expect_errors=True).status_code == 413
    login = gql.post(
        'mutation L($p: String!) { login(options: {username: "bob", password: $p}) '
        "{ errors { field message } user { id } } }",
        p="p" * 60_000,
    )
    assert field_errors(login, "login") == ["password"]
    assert field_errors(register(gql, "bob", "p" * 60_000)) == ["password"]
    assert hashing_calls == []


# --- NUL, surrogates, control and invisible characters ----------------------------------


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("al\x00ice", "correct horse", "username"),
        ("alice", "correct\x00horse", "password"),
        ("\x00\x00\x00", "correct horse", "username"),
    ],
)
def test_nul_in_credentials_is_a_field_error(
    app: Flask, gql, username: str, password: str, field: str
) -> None:
    assert field_errors(register(gql, username, password)) == [field]
    assert table_count(app, "user") == 0


def test_nul_in_titles_is_bad_user_input(app: Flask, alice: GraphQLClient) -> None:
    assert code_of(create(alice, "nul\x00title", expect_errors=True)) == "BAD_USER_INPUT"
    post = create(alice, "clean").get_json()["data"]["createPost"]
    assert (
        code_of(alice.post(UPDATE, expect_errors=True, id=post["id"], t="x\x00"))
        == "BAD_USER_INPUT"
    )
    assert alice(POST, id=post["id"])["data"]["post"]["title"] == "clean"


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "a\udc00b"])
def test_lone_surrogates_are_400(app: Flask, alice: GraphQLClient, surrogate: str) -> None:
    for query, variables in (
        (CREATE_POST, {"title": surrogate}),
        (REGISTER, {"username": surrogate, "password": "correct horse"}),
        (REGISTER, {"username": "bob", "password": surrogate * 8}),
    ):
        response = raw_post(alice, query, variables)
        assert response.status_code == 400 and response.is_json
    assert table_count(app, "post") == 0
    assert table_count(app, "user") == 1


def test_escaped_surrogate_pairs_are_emoji(alice: GraphQLClient) -> None:
    response = raw_post(alice, CREATE_POST, {"title": "\U0001f600"})  # sent as \ud83d\ude00
    assert response.get_json()["data"]["createPost"]["title"] == "\U0001f600"


@pytest.mark.parametrize(
    "username",
    [
        "\u202eecila",  # right-to-left override
        "ali\u200bce",  # zero-width space
        "alice\u200d",  # zero-width joiner
        "\ufeffalice",  # byte order mark
        "alice\r\n",
        "ali\tce",
        "alice\x1b[31m",
        "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth "alice"
        "ali ce",
    ],
)
def test_control_and_invisible_characters_in_usernames_are_refused(
    app: Flask, gql: GraphQLClient, username: str
) -> None:
    assert field_errors(register(gql, username)) == ["username"]
    assert table_count(app, "user") == 0


@pytest.mark.parametrize(
    "title",
    [
        "café",
        unicodedata.normalize("NFD", "café"),
        "\U0001f469\u200d\U0001f469\u200d\U0001f467 family",
        "\U0001d518\U0001d52b\U0001d526 \U0010fffd",  # Fraktur, plane 16
        "\u202eright to left",
        "<script>alert(1)</script>",
        "tab\tand\r\nnewline",
    ],
)
def test_titles_round_trip_exactly(alice: GraphQLClient, title: str) -> None:
    post = create(alice, title).get_json()["data"]["createPost"]
    assert post["title"] == title
    assert alice(POST, id=post["id"])["data"]["post"]["title"] == title
    assert title in [p["title"] for p in alice("{ posts { title } }")["data"]["posts"]]


def test_nfc_and_nfd_titles_stay_distinct(alice: GraphQLClient) -> None:
    nfc, nfd = "é", "e\u0301"
    ids = [create(alice, t).get_json()["data"]["createPost"]["id"] for t in (nfc, nfd)]
    titles = [alice(POST, id=i)["data"]["post"]["title"] for i in ids]
    assert titles == [nfc, nfd]


# --- ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["1 OR 1=1", "1", "١٢", 1.5, 2**31, 2**40, 2**63, -(2**31) - 1, True, [1], {"a": 1}]
)
def test_ids_that_are_not_int32_are_400(app: Flask, alice: GraphQLClient, value: Any) -> None:
    for query in (POST, UPDATE, DELETE):
        with count_sql(app) as statements:
            response = raw_post(alice, query, {"id": value, "t": "x"})
        assert response.status_code == 400, (query, value, response.get_json())
        assert "data" not in response.get_json()
        assert statements == []


@pytest.mark.parametrize(
    "literal", ['"1"', "1.0", "2147483648", "9" * 40, "-2147483649", "null", "[1]", "$x"]
)
def test_id_literals_that_are_not_int32_are_400(alice: GraphQLClient, literal: str) -> None:
    response = alice.post(f"{{ post(id: {literal}) {{ id }} }}", expect_errors=True)
    assert response.status_code == 400
    assert response.get_json()["errors"]


@pytest.mark.parametrize("value", [-(2**31), -1, 0, INT32_MAX])
def test_int32_ids_that_match_nothing(alice: GraphQLClient, value: int) -> None:
    assert alice(POST, id=value) == {"data": {"post": None}}
    assert alice(UPDATE, id=value, t="x") == {"data": {"updatePost": None}}
    assert alice(DELETE, id=value) == {"data": {"deletePost": True}}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ("limit: 2147483648", None),
        ("limit: -5", "ok"),
        ("limit: null", "ok"),
        ('cursor: "1 OR 1=1"', "BAD_USER_INPUT"),
        ('cursor: "9999999999999999999999999"', "BAD_USER_INPUT"),
        ('cursor: "-99999999999999999"', "BAD_USER_INPUT"),
        (f'cursor: "{"9" * 5000}"', "BAD_USER_INPUT"),
    ],
)
def test_posts_arguments_out_of_range(alice: GraphQLClient, args: str, code: str | None) -> None:
    response = alice.post(f"{{ posts({args}) {{ id }} }}", expect_errors=code != "ok")
    body = response.get_json()
    if code is None:
        assert response.status_code == 400
    elif code == "ok":
        assert body == {"data": {"posts": []}}
    else:
        assert response.status_code == 200
        assert code_of(response) == code
