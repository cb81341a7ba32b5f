"""Mail goes out in the background: forgotPassword answers alike whatever the mail server does.

The SMTP servers here are real: aiosmtpd refusing (4xx or 5xx) and then accepting, and a
socket that accepts connections and never says a word (hung). No timing is asserted: a
request that answers while its mail is still queued did not wait on SMTP.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from config import ProductionConfig
from infra.mail import outbox
from tests.helpers import GraphQLClient
from tests.processes import HttpClient, free_port, gunicorn
from tests.side_effects import GENEROUS_RATE_LIMITS, count_sql
from tests.support import app_env
from tests.test_password_reset import (
    CHANGE,
    FORGOT,
    REGISTER_WITH_EMAIL,
    register_with_email,
    token_from,
)

KNOWN, UNKNOWN = "alice@example.com", "nobody@example.com"


class Switchable:
    """An aiosmtpd handler that refuses with ``reply`` until told to accept."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.accepting = False
        self.refused = threading.Event()
        self.received: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if not self.accepting:
            self.refused.set()
            return self.reply
        self.received.append(envelope)
        return "250 OK"


def smtp_on(port: int, handler: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@pytest.fixture
def mail_app(app_factory) -> Iterator[Callable[..., Flask]]:
    """A production app mailing through 127.0.0.1:<port>, retrying quickly; its outbox is
    closed at the end, as at a clean shutdown."""
    apps: list[Flask] = []

    def build(port: int, **overrides: Any) -> Flask:
        settings = {"MAIL_TIMEOUT": 0.5, "MAIL_RETRY_DELAY": 0.05, "MAIL_ATTEMPTS": 1000}
        env = {"MAIL_URL": f"smtp://127.0.0.1:{port}", "APP_URL": "https://app.example.com"}
        apps.append(app_factory(ProductionConfig, env=env, **{**settings, **overrides}))
        return apps[-1]

    yield build
    for app in apps:
        outbox(app).close()


@pytest.fixture
def hung_smtp() -> Iterator[socket.socket]:
    """A server that completes TCP handshakes (the kernel's backlog) and never answers."""
    listener = socket.create_server(("127.0.0.1", free_port()), reuse_port=False)
    listener.listen(16)
    yield listener
    listener.close()


def forgot(app: Flask, email: str) -> tuple[int, Any, list[str]]:
    """Status, body and SQL of one forgotPassword from a fresh client."""
    with count_sql(app) as statements:
        response = GraphQLClient(app.test_client()).post(FORGOT, email=email)
    return response.status_code, response.get_json(), statements


def assert_same_answer_and_work(app: Flask) -> None:
    known, unknown = forgot(app, KNOWN), forgot(app, UNKNOWN)
    assert known[:2] == unknown[:2] == (200, {"data": {"forgotPassword": True}})
    assert known[2] == unknown[2]  # the same lookup, whether or not the email exists


def delivered_link(received: list[Any]) -> str:
    [envelope] = received
    assert envelope.rcpt_tos == [KNOWN]
    mail = message_from_bytes(envelope.content, policy=default_policy)
    return token_from(mail.get_content())


@pytest.mark.parametrize("reply", ["554 5.7.1 relaying refused", "451 4.3.0 try again later"])
def test_a_refusing_mail_server_changes_nothing_and_the_mail_follows_later(
    mail_app, reply: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Switchable(reply)
    port = free_port()
    controller = smtp_on(port, handler)
    try:
        app = mail_app(port)
        register_with_email(app)
        with caplog.at_level(logging.WARNING, logger="infra.mail"):
            assert_same_answer_and_work(app)
            assert handler.refused.wait(30)
            handler.accepting = True
            assert outbox(app).flush(30)
        assert "retrying" in caplog.text
        token = delivered_link(handler.received)
    finally:
        controller.stop()
    changed = GraphQLClient(app.test_client())(CHANGE, token=token, password="brand new horse")
    assert changed["data"]["changePassword"]["user"]["username"] == "alice"


def test_a_hung_mail_server_changes_nothing_and_the_mail_follows_later(
    mail_app, hung_smtp: socket.socket
) -> None:
    port = hung_smtp.getsockname()[1]
    app = mail_app(port)
    register_with_email(app)
    assert_same_answer_and_work(app)
    assert not outbox(app).flush(0)  # answered while the mail still waits on the server
    hung_smtp.close()
    handler = Switchable("")
    handler.accepting = True
    controller = smtp_on(port, handler)
    try:
        assert outbox(app).flush(30)
    finally:
        controller.stop()
    delivered_link(handler.received)


def test_a_full_queue_drops_mail_with_a_log_line_and_never_blocks(
    mail_app, hung_smtp: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    app = mail_app(hung_smtp.getsockname()[1], MAIL_QUEUE_SIZE=1, **GENEROUS_RATE_LIMITS)
    register_with_email(app)
    with caplog.at_level(logging.ERROR, logger="infra.mail"):
        answers = [forgot(app, KNOWN)[:2] for _ in range(5)]
    assert answers == [(200, {"data": {"forgotPassword": True}})] * 5
    box = outbox(app)
    assert box.dropped >= 3  # one being delivered, one queued at most
    assert "mail queue full" in caplog.text


def test_a_clean_shutdown_delivers_what_is_queued(mail_app) -> None:
    handler = Switchable("451 4.3.0 try again later")
    port = free_port()
    controller = smtp_on(port, handler)
    try:
        app = mail_app(port, MAIL_RETRY_DELAY=3600, MAIL_SHUTDOWN_WAIT=30)
        register_with_email(app)
        forgot(app, KNOWN)
        assert handler.refused.wait(30)  # the next attempt is an hour away
        handler.accepting = True
        outbox(app).close()  # what atexit runs: retry now, wait a bounded time
        delivered_link(handler.received)
    finally:
        controller.stop()


@pytest.mark.timeout(120)
def test_gunicorn_delivers_queued_mail_when_stopped_cleanly(tmp_path: Path, redis_url: str) -> None:
    handler = Switchable("451 4.3.0 try again later")
    port = free_port()
    controller = smtp_on(port, handler)
    env = app_env(
        tmp_path,
        f"sqlite:///{tmp_path / 'app.sqlite'}",
        redis_url,
        workers="1",
        MAIL_URL=f"smtp://127.0.0.1:{port}",
        MAIL_RETRY_DELAY="3600",  # the retry would come in an hour: only a shutdown sends
        MAIL_SHUTDOWN_WAIT="10",
    )
    try:
        with gunicorn(env, tmp_path) as server:
            client = HttpClient(server.base_url)
            status, body = client.graphql(REGISTER_WITH_EMAIL, email=KNOWN)
            assert status == 200 and body["data"]["register"]["user"], body
            assert client.graphql(FORGOT, email=KNOWN) == (200, {"data": {"forgotPassword": True}})
            assert handler.refused.wait(30)
            handler.accepting = True
        # leaving the block stopped gunicorn with SIGTERM: its worker exited cleanly
        assert server.process.returncode == 0, server.log()
        delivered_link(handler.received)
    finally:
        controller.stop()
