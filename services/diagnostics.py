"""What the debugging and health endpoints report."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from extensions import db, redis_extension
from infra.database import MIGRATIONS_DIR
from services import accounts, auth
from sessions.session import StoredSession

log = logging.getLogger(__name__)


def describe_session(session: StoredSession) -> dict[str, Any]:
    """The user behind the cookie and the state of its session, for GET /me."""
    ttl = auth.seconds_left(session)  # first: it loads the record in the same round trip
    user = accounts.current_user(session)
    active = bool(session) and session.stored
    return {
        "user": {"id": user.id, "username": user.username} if user else None,
        "session": {
            "cookie": session.sid is not None,
            "active": active,
            "ttl": ttl if active else None,
            "data": session.data(),
        },
    }


def health() -> dict[str, Any]:
    """Whether Redis and the database answer."""
    return _report({"redis": _redis_ok(), "database": _database_ok()})


def readiness() -> dict[str, Any]:
    """Whether the instance can serve: Redis and the database answer, migrations at head."""
    checks = {"redis": _redis_ok(), "database": _database_ok()}
    checks["migrations"] = checks["database"] and _migrations_at_head()
    return _report(checks)


def _report(checks: dict[str, bool]) -> dict[str, Any]:
    down = [name for name, ok in checks.items() if not ok]
    return {"ok": not down, "checks": checks, "down": down}


def _migrations_at_head() -> bool:
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == set(_script_heads())


@cache
def _script_heads() -> tuple[str, ...]:
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return tuple(ScriptDirectory.from_config(config).get_heads())


def _redis_ok() -> bool:
    try:
        return redis_extension.ping()
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
