"""Who is logged in: the session side of authentication."""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Protocol

from flask import has_request_context, request
from redis.exceptions import RedisClusterException, RedisError

from extensions import server_sessions
from models.rows import UserSummary
from services.errors import NotAuthenticated
from sessions.index import SessionEntry
from sessions.record import SNAPSHOT, USER_ID
from sessions.session import StoredSession

USER_AGENT_MAX = 256


class LoggableUser(Protocol):
    """What logging in needs to know about a user."""

    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def created_at_ms(self) -> int: ...
    @property
    def updated_at_ms(self) -> int: ...


def current_user_id(session: StoredSession) -> int | None:
    """The logged-in user's id, or None for an anonymous session."""
    user_id = session.get(USER_ID)
    return user_id if isinstance(user_id, int) else None


def require_user_id(session: StoredSession) -> int:
    """The logged-in user's id; raise NotAuthenticated for anonymous sessions."""
    user_id = current_user_id(session)
    if user_id is None:
        raise NotAuthenticated()
    return user_id


def snapshot(session: StoredSession) -> UserSummary | None:
    """The user snapshot stored at login, or None (anonymous, or an older record)."""
    user_id = current_user_id(session)
    data = session.get(SNAPSHOT)
    if user_id is None or not isinstance(data, list) or len(data) != 3:
        return None
    username, created, updated = data
    if not (isinstance(username, str) and isinstance(created, int) and isinstance(updated, int)):
        return None
    return UserSummary(user_id, username, created, updated)


def start_session(session: StoredSession, user: LoggableUser) -> None:
    """Start a fresh session for the user and store it now: new id, nothing kept from before.

    Writing here rather than at the end of the request means a Redis failure surfaces
    inside the operation, before anything reports success.
    """
    store = server_sessions.store
    store.regenerate(session)
    session.clear()
    session[USER_ID] = user.id
    session[SNAPSHOT] = [user.username, user.created_at_ms, user.updated_at_ms]
    store.persist(session)
    try:
        store.index.add(user.id, _entry_for(session.sid or ""))
    except (RedisError, RedisClusterException):
        # Redis refused the second write (full, connection lost): undo the first, so the
        # error answer carries no cookie of a session that would work.
        with suppress(RedisError, RedisClusterException):
            store.destroy(session)
        raise


def log_out(session: StoredSession) -> None:
    """End the session now: its record and index entry are deleted, the cookie cleared."""
    user_id = current_user_id(session)
    sid = session.sid
    store = server_sessions.store
    store.destroy(session)
    if user_id is not None and sid:
        store.index.remove(user_id, sid)


def seconds_left(session: StoredSession) -> int | None:
    """Seconds until the session's record expires, or None if it has none.

    Read with the record itself when it is not loaded yet: one round trip for both.
    """
    return server_sessions.store.load_with_ttl(session)


def _entry_for(sid: str) -> SessionEntry:
    user_agent, ip = "", ""
    if has_request_context():
        user_agent = (request.user_agent.string or "")[:USER_AGENT_MAX]
        ip = request.remote_addr or ""
    return SessionEntry(sid, int(time.time() * 1000), user_agent, ip)
