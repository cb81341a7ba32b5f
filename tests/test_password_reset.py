"""Password reset: forgotPassword mails a single-use token, changePassword uses it once."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
import redis
from flask import Flask

from infra.mail import outbox
from tests.helpers import GraphQLClient, cookie_value
from tests.processes import free_port

FORGOT = "mutation F($email: String!) { forgotPassword(email: $email) }"
CHANGE = """mutation C($token: String!, $password: String!) {
  changePassword(token: $token, newPassword: $password) {
    errors { field message } user { id username }
  }
}"""
REGISTER_WITH_EMAIL = """mutation R($email: String) {
  register(options: {username: "alice", password: "correct horse", email: $email}) {
    errors { field message } user { id }
  }
}"""


def token_from(text: str) -> str:
    match = re.search(r"/change-password/([A-Za-z0-9_-]{43})", text)
    assert match, text
    return match.group(1)


def register_with_email(app: Flask, email: str = "Alice@Example.com") -> GraphQLClient:
    gql = GraphQLClient(app.test_client())
    assert gql(REGISTER_WITH_EMAIL, email=email)["data"]["register"]["user"]
    return gql


def request_token(app: Flask, caplog: pytest.LogCaptureFixture, email: str) -> str:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="infra.mail"):
        assert GraphQLClient(app.test_client())(FORGOT, email=email) == {
            "data": {"forgotPassword": True}
        }
        assert outbox(app).flush(10)  # mail goes out in the background
    return token_from(caplog.text)


def test_reset_flow_changes_password_ends_sessions_and_logs_in(
    app: Flask, caplog: pytest.LogCaptureFixture, redis_server: redis.Redis
) -> None:
    owner = register_with_email(app)
    other_device = GraphQLClient(app.test_client())
    other_device.login()
    token = request_token(app, caplog, "alice@example.COM")
    assert 0 < redis_server.ttl(f"forget-password:{token}") <= 3 * 24 * 3600
    resetter = GraphQLClient(app.test_client())
    resetter.client.set_cookie("qid", cookie_value(owner.client) or "")  # even a live session
    old_sid = cookie_value(resetter.client)
    result = resetter(CHANGE, token=token, password="brand new horse")
    assert result["data"]["changePassword"]["user"]["username"] == "alice"
    assert cookie_value(resetter.client) != old_sid
    assert resetter.me()["username"] == "alice"
    assert owner.me() is None and other_device.me() is None
    fresh = GraphQLClient(app.test_client())
    assert fresh.login("alice", "correct horse")["user"] is None
    assert fresh.login("alice", "brand new horse")["user"]
    again = resetter(CHANGE, token=token, password="another new horse")
    assert again["data"]["changePassword"]["errors"] == [
        {"field": "token", "message": "token expired or already used"}
    ]


def test_unknown_email_is_true_and_sends_nothing(
    app: Flask, caplog: pytest.LogCaptureFixture, redis_server: redis.Redis
) -> None:
    register_with_email(app)
    with caplog.at_level(logging.INFO, logger="infra.mail"):
        for email in ("nobody@example.com", "not an email", ""):
            body = GraphQLClient(app.test_client())(FORGOT, email=email)
            assert body == {"data": {"forgotPassword": True}}
        assert outbox(app).flush(10)
    assert "change-password" not in caplog.text
    assert list(redis_server.scan_iter("forget-password:*")) == []


def test_short_password_keeps_the_token(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    register_with_email(app)
    token = request_token(app, caplog, "alice@example.com")
    gql = GraphQLClient(app.test_client())
    short = gql(CHANGE, token=token, password="short")["data"]["changePassword"]
    assert short["errors"][0]["field"] == "newPassword"
    assert gql(CHANGE, token=token, password="long enough now")["data"]["changePassword"]["user"]


def test_token_expires(app_factory, caplog: pytest.LogCaptureFixture) -> None:
    app = app_factory(env={"RESET_TOKEN_TTL": "1"})
    register_with_email(app)
    token = request_token(app, caplog, "alice@example.com")
    time.sleep(2.1)
    result = GraphQLClient(app.test_client())(CHANGE, token=token, password="brand new horse")
    assert result["data"]["changePassword"]["errors"][0]["field"] == "token"


def test_garbage_tokens_are_field_errors(app: Flask) -> None:
    gql = GraphQLClient(app.test_client())
    for token in ("", "x", "a" * 43, "../../etc", "\u202e" * 43):
        result = gql(CHANGE, token=token, password="brand new horse")
        assert result["data"]["changePassword"]["errors"][0]["field"] == "token"


def test_register_email_rules(app: Flask) -> None:
    register_with_email(app, "alice@example.com")
    gql = GraphQLClient(app.test_client())
    query = REGISTER_WITH_EMAIL.replace('"alice"', '"bob"')
    assert gql(query, email="ALICE@example.com")["data"]["register"]["errors"] == [
        {"field": "email", "message": "email already taken"}
    ]
    assert gql(query, email="nope")["data"]["register"]["errors"][0]["field"] == "email"
    assert gql(query, email=None)["data"]["register"]["user"]


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[Any]]]:
    """A real SMTP server on a free loopback port, keeping what it receives."""
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def test_production_sends_the_link_over_smtp(app_factory, smtp_server) -> None:
    from config import ProductionConfig

    port, received = smtp_server
    app = app_factory(
        ProductionConfig,
        env={
            "MAIL_URL": f"smtp://127.0.0.1:{port}",
            "MAIL_FROM": "seed@example.com",
            "APP_URL": "https://app.example.com/",
        },
    )
    register_with_email(app)
    assert GraphQLClient(app.test_client())(FORGOT, email="alice@example.com")["data"]
    assert outbox(app).flush(10)
    [envelope] = received
    assert envelope.rcpt_tos == ["alice@example.com"]
    mail = message_from_bytes(envelope.content, policy=default_policy)
    assert isinstance(mail, EmailMessage)
    assert mail["From"] == "seed@example.com"
    body = mail.get_content()
    assert "https://app.example.com/change-password/" in body
    token = token_from(body)
    result = GraphQLClient(app.test_client())(CHANGE, token=token, password="brand new horse")
    assert result["data"]["changePassword"]["user"]["username"] == "alice"
