"""Reset tokens act only on the password they were issued against, and die with the account."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask import Flask

from extensions import db
from services import accounts
from tests.helpers import GraphQLClient
from tests.test_password_reset import CHANGE, register_with_email, request_token

REGISTER_BOB = """mutation {
  register(options: {username: "bob", password: "bobs own horse", email: "bob@example.com"}) {
    user { id }
  }
}"""


def change(app: Flask, token: str, password: str = "brand new horse") -> dict[str, Any]:
    gql = GraphQLClient(app.test_client())
    result: dict[str, Any] = gql(CHANGE, token=token, password=password)["data"]["changePassword"]
    return result


def refused(result: dict[str, Any]) -> bool:
    return result["user"] is None and result["errors"][0]["field"] == "token"


def test_a_deleted_users_token_cannot_take_over_the_next_account(
    app: Flask, caplog: pytest.LogCaptureFixture, redis_server: redis.Redis
) -> None:
    alice = register_with_email(app)
    alice_id = alice.me()["id"]
    token = request_token(app, caplog, "alice@example.com")
    deleted = app.test_cli_runner().invoke(args=["users", "delete", "alice", "--yes"])
    assert "revoked 1 reset token(s)" in deleted.output, deleted.output
    assert list(redis_server.scan_iter("forget-password*")) == []
    bob = GraphQLClient(app.test_client())
    bob_id = bob(REGISTER_BOB)["data"]["register"]["user"]["id"]
    assert int(bob_id) > int(alice_id)  # ids are never reused, SQLite included
    assert refused(change(app, token))
    assert GraphQLClient(app.test_client()).login("bob", "bobs own horse")["user"]


def test_a_token_surviving_in_redis_cannot_act_on_an_id_it_was_not_issued_for(
    app: Flask, caplog: pytest.LogCaptureFixture, redis_server: redis.Redis
) -> None:
    register_with_email(app)
    token = request_token(app, caplog, "alice@example.com")
    record = redis_server.get(f"forget-password:{token}")
    assert isinstance(record, bytes)
    user_id = record.split(b":")[0]
    redis_server.set(f"forget-password:{token}", user_id)  # as versions before binding stored
    assert refused(change(app, token))
    other = request_token(app, caplog, "alice@example.com")
    redis_server.set(f"forget-password:{other}", user_id + b":" + b"0" * 24)  # another password
    assert refused(change(app, other))


def test_a_password_change_makes_every_other_token_useless(
    app: Flask, caplog: pytest.LogCaptureFixture, redis_server: redis.Redis
) -> None:
    register_with_email(app)
    first, second, third = (request_token(app, caplog, "alice@example.com") for _ in range(3))
    assert change(app, second)["user"]
    assert list(redis_server.scan_iter("forget-password*")) == []
    for token in (first, third):
        assert refused(change(app, token, "attacker's horse"))
    assert GraphQLClient(app.test_client()).login("alice", "brand new horse")["user"]


def test_an_older_token_is_refused_even_when_it_was_not_listed(
    app: Flask, caplog: pytest.LogCaptureFixture, redis_server: redis.Redis
) -> None:
    register_with_email(app)
    first = request_token(app, caplog, "alice@example.com")
    [user_tokens] = redis_server.scan_iter("forget-password-user:*")
    redis_server.delete(user_tokens)  # as if issued concurrently with the change
    second = request_token(app, caplog, "alice@example.com")
    assert change(app, second)["user"]
    assert redis_server.exists(f"forget-password:{first}")
    assert refused(change(app, first, "attacker's horse"))
    assert GraphQLClient(app.test_client()).login("alice", "brand new horse")["user"]


def test_of_two_changes_from_the_same_password_only_one_wins(app: Flask) -> None:
    # Two tokens consumed at once both passed the check; the change itself is a
    # compare-and-set on the hash, so the slower one must fail, not overwrite.
    register_with_email(app)
    with app.app_context():
        first = accounts.find_by_username("alice")
        assert first is not None
        db.session.expunge(first)  # as loaded by another request
        second = accounts.find_by_username("alice")
        assert second is not None
        assert accounts.replace_password(second, "second new horse")
        assert not accounts.replace_password(first, "first new horse")
    assert GraphQLClient(app.test_client()).login("alice", "second new horse")["user"]
