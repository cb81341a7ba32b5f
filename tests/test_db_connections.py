"""Pooled PostgreSQL connections that the server closed are replaced before use."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest
from flask import Flask
from sqlalchemy import event, text

from extensions import db
from infra.database import server_hung_up
from tests.helpers import GraphQLClient

POSTS = "{ posts { id } }"


def _terminate_other_backends(database_url: str) -> int:
    """pg_terminate_backend every other connection to the database; wait until they are gone."""
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as admin:
        pids = [
            row[0]
            for row in admin.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        ]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        _wait_until_gone(admin, pids)
    return len(pids)


def _wait_until_gone(admin: psycopg.Connection[tuple[object, ...]], pids: list[int]) -> None:
    """pg_terminate_backend only signals: the backends exit (and hang up) a moment later."""
    for _ in range(500):
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
        ).fetchone()
        if row == (0,):
            return
        time.sleep(0.01)


@pytest.fixture
def postgres_app(app_factory: Callable[..., Flask], database_url: str) -> Flask:
    """The app, on PostgreSQL only."""
    if not database_url.startswith("postgresql"):
        pytest.skip("connection liveness is checked on PostgreSQL only")
    return app_factory()


def test_request_after_backends_were_terminated_succeeds(postgres_app: Flask) -> None:
    gql = GraphQLClient(postgres_app.test_client())
    assert gql(POSTS) == {"data": {"posts": []}}  # a connection now sits in the pool
    assert _terminate_other_backends(postgres_app.config["SQLALCHEMY_DATABASE_URI"]) >= 1
    response = gql.post(POSTS)
    assert response.status_code == 200
    assert response.get_json() == {"data": {"posts": []}}


def test_a_live_idle_connection_is_not_hung_up(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        conn.execute("SELECT 1")
        conn.rollback()
        assert server_hung_up(conn) is False


def test_a_terminated_connection_is_hung_up(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    url = database_url.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as victim:
        pid = victim.info.backend_pid
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            _wait_until_gone(admin, [pid])
        assert server_hung_up(victim) is True


def test_pooled_connections_are_reused_without_a_ping(postgres_app: Flask) -> None:
    """Two requests in a row run on one backend, and no SELECT 1 is sent between them."""
    with postgres_app.app_context():
        first = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()
        second = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()
        assert first == second
        assert db.engine.pool._pre_ping is False


def test_connections_every_thread_held_at_once_are_kept(postgres_app: Flask) -> None:
    """8 threads (the servers' default) busy at once, twice: the second time opens none.

    A pool that keeps fewer than it lends closes the surplus on return and reconnects
    (a new backend process each time) on the next burst: under load, on every request.
    """
    with postgres_app.app_context():
        engine = db.engine
    connects: list[object] = []
    event.listen(engine, "connect", lambda *_: connects.append(None))
    for _ in range(2):
        held = [engine.raw_connection() for _ in range(8)]
        for connection in held:
            connection.close()
    assert len(connects) <= 8, len(connects)
