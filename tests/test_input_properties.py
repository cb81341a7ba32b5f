"""Property tests of hostile field values: titles and usernames drawn from every Unicode
category, surrogates and NUL included, are refused cleanly (a 4xx or a field error, never
a 5xx) or round-trip exactly, on SQLite and PostgreSQL (test_input_edges.py has the cases).
"""

from __future__ import annotations

import json
import string
import unicodedata

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.helpers import CREATE_POST, POST, REGISTER, GraphQLClient, code_of, raw_post

pytestmark = pytest.mark.generous_rate_limits

EVERY_CHARACTER = st.characters(exclude_categories=())  # surrogates, NUL, controls included
TRICKY = st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "\u200b", "\u0301", "😀", "\r"])
TEXT = st.text(st.one_of(EVERY_CHARACTER, TRICKY), max_size=60)
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def has_surrogate(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate (not encodable as UTF-8) once sent as JSON.

    A high surrogate followed by a low one is sent as two escapes that decode to one
    character outside the BMP, which is no surrogate at all.
    """
    return any("\ud800" <= ch <= "\udfff" for ch in json.loads(json.dumps(value)))


def plainly_valid_title(title: str) -> bool:
    """Non-blank, short, and free of what storage cannot hold: must be accepted."""
    banned = {chr(c) for c in range(32)} - {"\t", "\n", "\r"} | {"\x7f"}
    return bool(title.strip()) and not has_surrogate(title) and not set(title) & banned


@PROPERTY
@given(title=TEXT)
def test_any_title_is_refused_cleanly_or_round_trips(alice: GraphQLClient, title: str) -> None:
    response = raw_post(alice, CREATE_POST, {"title": title})
    assert response.status_code < 500 and response.is_json
    body = response.get_json()
    if has_surrogate(title):
        assert response.status_code == 400
        return
    post = (body.get("data") or {}).get("createPost")
    event("accepted" if post else "refused")
    if post is None:
        assert not plainly_valid_title(title), body
        assert code_of(response) == "BAD_USER_INPUT"
        return
    assert post["title"] == title
    assert alice(POST, id=post["id"])["data"]["post"]["title"] == title


def never_a_username(username: str) -> bool:
    """Whether the username holds what no username may: controls, format chars, spaces."""
    return has_surrogate(username) or any(
        unicodedata.category(ch) in {"Cc", "Cf", "Zs", "Zl", "Zp", "Cn", "Co"} for ch in username
    )


NAME_CHARACTERS = st.sampled_from(string.ascii_letters + string.digits + "_.-")
USERNAMES = st.one_of(TEXT, st.text(st.one_of(NAME_CHARACTERS, TRICKY), min_size=2, max_size=42))


@PROPERTY
@given(username=USERNAMES)
def test_any_username_is_refused_cleanly_or_round_trips(app: Flask, username: str) -> None:
    client = GraphQLClient(app.test_client())
    response = raw_post(client, REGISTER, {"username": username, "password": "correct horse"})
    assert response.status_code < 500 and response.is_json
    # A high surrogate followed by a low one is a pair in JSON: the server reads one character.
    username = json.loads(json.dumps(username))
    if has_surrogate(username):
        assert response.status_code == 400
        return
    payload = response.get_json()["data"]["register"]
    if payload["user"] is None:
        assert [e["field"] for e in payload["errors"]] == ["username"]
        return
    event("accepted")
    assert not never_a_username(username)
    assert payload["user"]["username"] == username
    assert client.me() == {"id": payload["user"]["id"], "username": username}
