"""Database engine behaviour and the migration runner."""

from __future__ import annotations

import logging
import select
import sqlite3
from contextlib import suppress
from typing import Any

import flask_migrate
import psycopg
from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.pool import Pool

from config import PROJECT_DIR

log = logging.getLogger(__name__)
MIGRATIONS_DIR = str(PROJECT_DIR / "migrations")
SQLITE_BUSY_TIMEOUT_MS = 5000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL, a busy timeout and foreign keys on every SQLite connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def server_hung_up(connection: psycopg.Connection[Any]) -> bool:
    """Whether PostgreSQL has closed (or is closing) an idle connection, without a round trip.

    An idle connection has nothing to read; a server that restarts or terminates the backend
    sends an error and closes the socket, which makes it readable (or hung up).
    """
    if connection.closed or connection.broken:
        return True
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


@event.listens_for(Pool, "checkout")
def _replace_dead_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Stands in for pool_pre_ping on PostgreSQL: a poll(2) instead of a SELECT 1 per request.

    Raising DisconnectionError makes the pool discard the connection and hand out another.
    """
    if isinstance(dbapi_connection, psycopg.Connection) and server_hung_up(dbapi_connection):
        raise DisconnectionError("the database server closed this pooled connection")


def current_engine() -> Engine:
    """The current app's engine."""
    return _sqlalchemy(current_app).engine


def upgrade_database(app: Flask) -> None:
    """Apply pending migrations (the seed runs its migrator at boot), then drop connections."""
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS_DIR)
        _sqlalchemy(app).engine.dispose()


def register_db_session_teardown(app: Flask) -> None:
    """End each request's database session, also when its connection died meanwhile.

    Registered after Flask-SQLAlchemy's own teardown, so it runs first. Without it, a
    backend terminated while the request's transaction sat idle (pg_terminate_backend,
    a server restart) made the final ROLLBACK raise from the teardown, and gunicorn
    replaced the finished response with its HTML 500 page.
    """
    db = _sqlalchemy(app)

    @app.teardown_appcontext
    def remove_session(_error: BaseException | None) -> None:
        if not db.session.registry.has():  # the request never used the database
            return
        try:
            db.session.remove()
        except SQLAlchemyError as error:
            log.warning("discarded a database session whose connection died: %r", error)
            with suppress(SQLAlchemyError):
                db.session.remove()  # the connection is invalidated by now: this only discards
            db.session.registry.clear()


def _sqlalchemy(app: Flask) -> SQLAlchemy:
    """The app's Flask-SQLAlchemy extension, found through the app: infra sits below extensions."""
    extension: SQLAlchemy = app.extensions["sqlalchemy"]
    return extension
