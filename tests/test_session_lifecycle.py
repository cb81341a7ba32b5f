"""The session's life cycle: each state, and what the response does about it, on a real Redis."""

from __future__ import annotations

from collections.abc import Callable

import redis
from flask import Flask

from sessions.extension import current_session
from sessions.session import Lifecycle, StoredSession
from tests.helpers import GraphQLClient, cookie_value, set_cookies


def test_changes_move_a_session_to_the_write_it_needs() -> None:
    session = StoredSession()
    trace = [session.state]
    session["theme"] = "dark"  # no record: to be created
    trace.append(session.state)
    assert session.modified
    session.saved("a" * 22, {"createdAt": 1})
    trace.append(session.state)
    assert session.stored and not session.modified
    assert session.data() == {"theme": "dark", "createdAt": 1}
    session.modified = True  # Flask's flag for a change inside nested data
    trace.append(session.state)  # a record: to be updated in place
    session.end()
    trace.append(session.state)
    assert session.data() == {} and not session.stored
    session["theme"] = "light"  # after the end, only a new session
    trace.append(session.state)
    assert trace == [
        Lifecycle.NEW,
        Lifecycle.DRAFT,
        Lifecycle.SAVED,
        Lifecycle.CHANGED,
        Lifecycle.ENDED,
        Lifecycle.DRAFT,
    ]


def test_a_cookie_id_is_read_once_on_first_use() -> None:
    reads: list[str] = []

    def reader(sid: str) -> dict[str, object]:
        reads.append(sid)
        return {"userId": 1}

    session = StoredSession("b" * 22, reader=reader)
    states = [session.state]
    assert reads == []
    assert session.get("userId") == 1 and session.get("userId") == 1
    states.append(session.state)
    assert reads == ["b" * 22] and states == [Lifecycle.PENDING, Lifecycle.LOADED]
    absent = StoredSession("c" * 22, reader=lambda sid: {})
    assert not absent and absent.sid == "c" * 22 and not absent.stored


def add_view(app: Flask, name: str, change: Callable[[StoredSession], object]) -> str:
    """A test-only route that applies ``change`` to the request's session; its path."""

    def view() -> dict[str, bool]:
        change(current_session())
        return {"ok": True}

    path = f"/test-only/{name}"
    app.add_url_rule(path, endpoint=name, view_func=view, methods=["POST"])
    return path


def test_emptying_a_logged_in_session_deletes_it_and_clears_the_cookie(
    app: Flask, redis_server: redis.Redis
) -> None:
    path = add_view(app, "empty", lambda session: session.clear())
    client = GraphQLClient(app.test_client())
    client.register()
    sid = cookie_value(client.client)
    [header] = set_cookies(client.client.post(path))
    assert header.startswith("qid=;")
    assert redis_server.exists(f"sess:{sid}") == 0  # not written back (Flask-Session would)
    assert client.me() is None


def test_a_change_to_nested_data_is_written_when_flagged(
    app: Flask, redis_server: redis.Redis
) -> None:
    def rename(session: StoredSession) -> None:
        session["u"][0] = "renamed"
        session.modified = True

    path = add_view(app, "rename", rename)
    client = GraphQLClient(app.test_client())
    client.register()
    sid = cookie_value(client.client)
    [header] = set_cookies(client.client.post(path))
    assert header.startswith(f"qid={sid};")  # the same id, its cookie sent again
    assert client.me()["username"] == "renamed"
    assert redis_server.ttl(f"sess:{sid}") > 0


def test_anonymous_data_starts_a_session_unless_it_is_removed_again(
    app: Flask, redis_server: redis.Redis
) -> None:
    def set_and_unset(session: StoredSession) -> None:
        session["theme"] = "dark"
        del session["theme"]

    keep = add_view(app, "keep", lambda session: session.update(theme="dark"))
    undo = add_view(app, "undo", set_and_unset)
    fresh = app.test_client()
    assert set_cookies(fresh.post(undo)) == []
    assert list(redis_server.scan_iter("sess:*")) == []
    client = app.test_client()
    client.post(keep)
    sid = cookie_value(client)
    assert sid is not None
    assert list(redis_server.scan_iter("sess:*")) == [f"sess:{sid}".encode()]
