"""A login racing a password change: the old password never keeps a session."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from flask import Flask

from services.passwords import verify_password
from tests.helpers import GraphQLClient, cookie_value
from tests.test_password_reset import CHANGE, register_with_email, request_token


def test_a_login_checked_before_a_password_change_and_stored_after_it_keeps_no_session(
    app: Flask,
    caplog: pytest.LogCaptureFixture,
    redis_server: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register_with_email(app)
    token = request_token(app, caplog, "alice@example.com")
    verified, changed = threading.Event(), threading.Event()

    def verify_then_wait(stored_hash: str | None, password: str) -> bool:
        """The real check; then the racing login waits until the change has answered."""
        ok = verify_password(stored_hash, password)
        verified.set()
        assert changed.wait(10)
        return ok

    # the seam: the login's own module-level name for the check, wrapped, not replaced
    monkeypatch.setattr("services.accounts.verify_password", verify_then_wait)
    racer = GraphQLClient(app.test_client())
    answer: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: answer.update(racer.login("alice", "correct horse")))
    thread.start()
    assert verified.wait(10)
    changer = GraphQLClient(app.test_client())
    changed_to = changer(CHANGE, token=token, password="brand new horse")
    assert changed_to["data"]["changePassword"]["user"]["username"] == "alice"
    changed.set()
    thread.join(10)
    assert not thread.is_alive()
    assert answer["user"] is None
    assert answer["errors"] == [{"field": "password", "message": "incorrect username or password"}]
    assert racer.me() is None
    live = [key.decode() for key in redis_server.scan_iter("sess:*")]
    assert live == [f"sess:{cookie_value(changer.client)}"]
    assert changer.me()["username"] == "alice"
