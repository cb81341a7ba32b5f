"""The lean SQL path (infra/lean_sql.py): same answers as Core on SQLite and PostgreSQL,
connections back in the pool as they came, and a lost connection a clean 503 that heals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import infra.database
from extensions import db
from infra.lean_sql import LeanStatement
from models import Post, User
from models.rows import epoch_ms, from_epoch_ms
from services import accounts, posts
from tests.helpers import GraphQLClient
from tests.side_effects import count_sql
from tests.test_db_connections import _terminate_other_backends
from tests.test_read_views import FLOAT_TRAPS

LISTING = (
    "query P($limit: Int, $cursor: String) { posts(limit: $limit, cursor: $cursor)"
    " { title createdAt updatedAt creator { username } } }"
)
TIE = datetime(2026, 12, 2, 8, 0, 0, 123000, tzinfo=UTC)  # two posts in the same millisecond


def seed_fixed_posts(app: Flask) -> None:
    """Five posts by two users at known instants: float traps, a tie, a later edit."""
    with app.app_context():
        ann = User(username="Ann", username_key="ann", password_hash="x")
        bob = User(username="bob", username_key="bob", password_hash="x")
        instants = [from_epoch_ms(m) for m in FLOAT_TRAPS] + [TIE, TIE]
        for number, moment in enumerate(instants):
            creator = ann if number % 2 else bob
            edited = moment + timedelta(milliseconds=number)
            db.session.add(Post(title=f"p{number}", creator=creator, created_at=moment,
                                updated_at=edited))  # fmt: skip
        db.session.commit()


def expected_listing() -> list[dict[str, Any]]:
    """The listing seed_fixed_posts makes, newest first, ties by id descending."""
    instants = [*FLOAT_TRAPS, epoch_ms(TIE), epoch_ms(TIE)]
    rows = [(millis, number) for number, millis in enumerate(instants)]
    return [
        {
            "title": f"p{number}",
            "createdAt": str(millis),
            "updatedAt": str(millis + number),
            "creator": {"username": "Ann" if number % 2 else "bob"},
        }
        for millis, number in sorted(rows, reverse=True)
    ]


def test_the_listing_is_exact_and_pages_alike_on_every_dialect(app: Flask) -> None:
    """The same seeded rows give the same bytes on SQLite and PostgreSQL (run on both)."""
    seed_fixed_posts(app)
    gql = GraphQLClient(app.test_client())
    expected = expected_listing()
    assert gql(LISTING, limit=10)["data"]["posts"] == expected
    first = gql(LISTING, limit=2)["data"]["posts"]
    rest = gql(LISTING, limit=5, cursor=first[-1]["createdAt"])["data"]["posts"]
    assert first == expected[:2]
    assert rest == expected[2:]  # the cursor is exact to the millisecond (a float trap)


def test_lean_rows_are_cores_rows(app: Flask) -> None:
    """Each hot statement reads, through the lean path, what Connection.execute reads."""
    seed_fixed_posts(app)
    with app.app_context():
        user_ids = [user.id for user in db.session.query(User)]
        cases: list[tuple[LeanStatement, dict[str, Any]]] = [
            (posts._NEWEST, {"limit": 4}),
            (posts._OLDER, {"limit": 4, "before": from_epoch_ms(FLOAT_TRAPS[2])}),
            (accounts._USERS_BY_IDS, {"ids": user_ids}),
            (accounts._USERS_BY_IDS, {"ids": user_ids[:1]}),
        ]
        for lean, values in cases:
            with db.engine.connect() as connection:
                core = [tuple(row) for row in connection.execute(lean.statement, values)]
            assert sorted(lean.all(values)) == sorted(core)
            assert len(core) > 0


def in_autocommit(app: Flask) -> bool:
    """Whether the pooled connection a checkout hands out is in autocommit."""
    with app.app_context():
        pooled = db.engine.raw_connection()
        try:
            raw: Any = pooled.dbapi_connection
            return bool(getattr(raw, "autocommit", False)) or raw.isolation_level is None
        finally:
            pooled.close()


def test_connections_go_back_to_the_pool_as_they_came(app: Flask) -> None:
    """After a lean read, and after a lean write that failed, the pool's connection is
    no longer in autocommit: the ORM session's transactions stay transactions."""
    seed_fixed_posts(app)
    with app.app_context():
        assert len(posts.list_posts(10, None)) == 5
    assert not in_autocommit(app)
    with app.app_context(), pytest.raises(IntegrityError):
        posts.create_post(2**31 - 1, "no such creator")  # foreign key refused
    assert not in_autocommit(app)
    with app.app_context():
        assert [p.title for p in posts.list_posts(1, None)] == ["p2"]  # nothing was written


def test_cursor_listeners_still_see_every_statement(app: Flask) -> None:
    """With a cursor-execute listener (tracing), statements go through Core and are seen."""
    seed_fixed_posts(app)
    with count_sql(app) as seen:
        listing = GraphQLClient(app.test_client())(LISTING, limit=10)["data"]["posts"]
    assert listing == expected_listing()
    assert any("FROM post" in s for s in seen) and any('FROM "user"' in s or "FROM user" in s
                                                       for s in seen)  # fmt: skip


@pytest.fixture
def postgres_app(app_factory: Callable[..., Flask], database_url: str) -> Flask:
    """The app, on PostgreSQL only."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    return app_factory()


def test_a_connection_lost_under_a_lean_read_is_a_503_and_is_replaced(
    postgres_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backend dies after the checkout's check passed (the race poll(2) cannot see):
    the read is a clean 503, the dead connection is discarded, the next read works."""
    gql = GraphQLClient(postgres_app.test_client())
    query = "{ posts { title } }"
    assert gql(query) == {"data": {"posts": []}}  # one connection now sits in the pool
    assert _terminate_other_backends(postgres_app.config["SQLALCHEMY_DATABASE_URI"]) >= 1
    monkeypatch.setattr(infra.database, "server_hung_up", lambda _connection: False)

    response = gql.post(query, expect_errors=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    # still blind to hang-ups: only a fresh connection can answer, so the dead one is gone
    assert gql(query) == {"data": {"posts": []}}


def test_postgresql_sessions_speak_utc(postgres_app: Flask) -> None:
    """timestamptz reads carry datetime.UTC, which epoch_ms subtracts fastest."""
    with postgres_app.app_context():
        assert db.session.execute(text("SHOW TimeZone")).scalar() == "UTC"
        moment = db.session.execute(text("SELECT now()")).scalar_one()
        assert moment.tzinfo is UTC
