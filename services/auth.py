"""Who is logged in: the session side of authentication."""

from __future__ import annotations

from flask import current_app

from services.errors import NotAuthenticated
from session_store import RedisSessionStore, StoredSession

USER_ID = "userId"


def _store() -> RedisSessionStore:
    store = current_app.session_interface
    assert isinstance(store, RedisSessionStore)
    return store


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


def log_in(session: StoredSession, user_id: int) -> None:
    """Start a fresh session for the user and store it now: new id, nothing kept from before.

    Writing here rather than at the end of the request means a Redis failure surfaces
    inside the operation, before anything reports success.
    """
    store = _store()
    store.regenerate(session)
    session.clear()
    session[USER_ID] = user_id
    store.persist(session)


def log_out(session: StoredSession) -> None:
    """End the session now: its record is deleted and the cookie cleared."""
    _store().destroy(session)


def seconds_left(session: StoredSession) -> int | None:
    """Seconds until the session's record expires, or None if it has none."""
    ttl = _store().client.ttl(_store().store_key(session.sid or ""))
    return ttl if isinstance(ttl, int) and ttl >= 0 else None
