"""What the debugging and health endpoints report."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from extensions import db, redis_client
from services import accounts, auth
from session_store import StoredSession

log = logging.getLogger(__name__)


def describe_session(session: StoredSession) -> dict[str, Any]:
    """The user behind the cookie and the state of its session, for GET /me."""
    user = accounts.current_user(session)
    active = bool(session) and session.stored
    return {
        "user": {"id": user.id, "username": user.username} if user else None,
        "session": {
            "cookie": session.sid is not None,
            "active": active,
            "ttl": auth.seconds_left(session) if active else None,
            "data": session.data(),
        },
    }


def health() -> dict[str, Any]:
    """Whether Redis and the database answer."""
    checks = {"redis": _redis_ok(), "database": _database_ok()}
    down = [name for name, ok in checks.items() if not ok]
    return {"ok": not down, "checks": checks, "down": down}


def _redis_ok() -> bool:
    try:
        return bool(redis_client.client.ping())
    except RedisError as error:
        log.warning("health: redis down: %r", error)
        return False


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as error:
        log.warning("health: database down: %r", error)
        db.session.rollback()
        return False
