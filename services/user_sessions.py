"""A user's sessions on every device: list them, end one, end them all."""

from __future__ import annotations

from dataclasses import dataclass

from extensions import server_sessions
from services import auth
from sessions.session import StoredSession


@dataclass(frozen=True)
class SessionInfo:
    """One live session as its owner sees it."""

    id: str
    created_at_ms: int
    user_agent: str
    ip: str
    current: bool


def list_sessions(session: StoredSession) -> list[SessionInfo]:
    """The logged-in user's live sessions, newest first."""
    user_id = auth.require_user_id(session)
    return [
        SessionInfo(e.public_id, e.created_at_ms, e.user_agent, e.ip, e.sid == session.sid)
        for e in server_sessions.store.index.live(user_id)
    ]


def revoke_session(session: StoredSession, session_id: str) -> bool:
    """End one of the user's sessions by its public id; False if there is no such session."""
    user_id = auth.require_user_id(session)
    store = server_sessions.store
    for entry in store.index.live(user_id):
        if entry.public_id == session_id:
            if entry.sid == session.sid:
                auth.log_out(session)
            else:
                store.revoke(user_id, entry.sid)
            return True
    return False


def log_out_everywhere(session: StoredSession) -> int:
    """End every session of the user, this one included; returns how many ended."""
    user_id = auth.require_user_id(session)
    ended = end_all_sessions(user_id, keep_sid=session.sid)
    auth.log_out(session)
    return ended + 1


def end_all_sessions(user_id: int, keep_sid: str | None = None) -> int:
    """End every session of a user except ``keep_sid``; returns how many ended."""
    return server_sessions.store.index.end_all(user_id, keep_sid)


def purge_orphans() -> int:
    """Drop index entries of every user whose session expired; returns how many."""
    index = server_sessions.store.index
    return sum(index.purge_orphans(user_id) for user_id in index.users())
