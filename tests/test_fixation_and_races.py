"""Session fixation, resurrection and the per-user index, against a real Redis."""

from __future__ import annotations

import threading
from typing import Any

import redis
from flask import Flask

from services import auth
from sessions.extension import current_session
from tests.helpers import REGISTER, GraphQLClient, cookie_value


def planted_session(app: Flask) -> str:
    """A real, stored session id the attacker holds (logged in as the attacker)."""
    attacker = GraphQLClient(app.test_client())
    assert attacker.login("mallory")["user"]
    sid = cookie_value(attacker.client)
    assert sid
    return sid


def test_planted_id_is_never_kept_by_login_or_register(app: Flask) -> None:
    GraphQLClient(app.test_client()).register("alice")
    GraphQLClient(app.test_client()).register("mallory")
    for n, action in enumerate(("login", "register", "login-after-anonymous-read")):
        planted = planted_session(app)
        victim = GraphQLClient(app.test_client())
        victim.client.set_cookie("qid", planted)
        if action == "register":
            assert victim.register(f"victim{n}")["user"]
        else:
            if action == "login-after-anonymous-read":
                victim.me()  # the session is read (as mallory's) before the login
            assert victim.login("alice")["user"]
        new_sid = cookie_value(victim.client)
        assert new_sid and new_sid != planted
        attacker = app.test_client()
        attacker.set_cookie("qid", planted)
        assert GraphQLClient(attacker).me() is None, action
        # nothing of the planted session survives into the victim's one
        data = victim.client.get("/me").get_json()["session"]["data"]
        assert set(data) == {"userId", "createdAt", "u"}
        assert victim.me()["username"] != "mallory"


def test_unknown_planted_id_is_never_written(app: Flask, redis_server: redis.Redis) -> None:
    GraphQLClient(app.test_client()).register("alice")
    victim = GraphQLClient(app.test_client())
    victim.client.set_cookie("qid", "A" * 43)
    victim.login("alice")
    assert cookie_value(victim.client) != "A" * 43
    assert redis_server.exists("sess:" + "A" * 43) == 0


def test_switching_users_on_one_client_rotates_and_forgets(
    app: Flask, redis_server: redis.Redis
) -> None:
    GraphQLClient(app.test_client()).register("bob")
    client = GraphQLClient(app.test_client())
    client.register("alice")
    first = cookie_value(client.client)
    assert client.login("bob")["user"]["username"] == "bob"
    assert cookie_value(client.client) != first
    assert redis_server.exists(f"sess:{first}") == 0
    assert client.me()["username"] == "bob"


def test_slow_request_finishing_after_logout_does_not_revive_the_session(
    app: Flask, redis_server: redis.Redis
) -> None:
    started, logged_out = threading.Event(), threading.Event()

    @app.post("/test-only/slow-session-write")
    def slow_session_write() -> dict[str, bool]:
        session = current_session()
        assert auth.current_user_id(session) is not None
        started.set()
        logged_out.wait(5)
        session["theme"] = "dark"  # a write that started before the logout
        return {"ok": True}

    client = GraphQLClient(app.test_client())
    client.register()
    sid = cookie_value(client.client)
    slow_client = app.test_client()
    slow_client.set_cookie("qid", sid or "")
    result: dict[str, Any] = {}

    def run_slow() -> None:
        response = slow_client.post("/test-only/slow-session-write")
        result.update(status=response.status_code, body=response.get_json())
        result["cookies"] = response.headers.getlist("Set-Cookie")

    thread = threading.Thread(target=run_slow)
    thread.start()
    assert started.wait(5)
    assert client("mutation { logout }") == {"data": {"logout": True}}
    logged_out.set()
    thread.join(10)
    assert result["status"] == 409
    assert result["body"]["error"]["code"] == "SESSION_ENDED"
    assert any(c.startswith("qid=;") for c in result["cookies"])
    assert redis_server.exists(f"sess:{sid}") == 0
    replay = app.test_client()
    replay.set_cookie("qid", sid or "")
    assert GraphQLClient(replay).me() is None


def test_session_ids_never_repeat(app: Flask) -> None:
    client = GraphQLClient(app.test_client())
    client.register()
    seen = {cookie_value(client.client)}
    for _ in range(10):
        client.login()
        sid = cookie_value(client.client)
        assert sid not in seen
        seen.add(sid)


def test_register_mutation_text_is_shared(app: Flask) -> None:
    # guards the helper the other tests rely on: register answers a user and a cookie
    client = app.test_client()
    body = client.post(
        "/graphql",
        json={"query": REGISTER, "variables": {"username": "zed", "password": "correct horse"}},
    ).get_json()
    assert body["data"]["register"]["user"]["username"] == "zed"
    assert cookie_value(client)
