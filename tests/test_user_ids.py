"""User ids are never reused: sessions and reset tokens in Redis outlive the row they name."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import flask_migrate
from flask import Flask
from sqlalchemy import text

from extensions import db
from infra.database import MIGRATIONS_DIR
from tests.helpers import GraphQLClient


def test_the_next_user_never_gets_a_deleted_users_id(app: Flask) -> None:
    gql = GraphQLClient(app.test_client())
    first = int(gql.register("first")["user"]["id"])
    last = int(gql.register("last")["user"]["id"])
    app.test_cli_runner().invoke(args=["users", "delete", "last", "--yes"])
    newcomer = int(GraphQLClient(app.test_client()).register("newcomer")["user"]["id"])
    assert first < last < newcomer


def test_the_migration_keeps_users_and_posts_on_sqlite(app_factory, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    app = app_factory(env={"DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS_DIR, revision="0002")
        for n in (1, 2, 3):
            db.session.execute(
                text(
                    "INSERT INTO user (id, username, username_key, password_hash, created_at,"
                    " updated_at) VALUES (:n, :name, :name, 'h', '2026-01-01', '2026-01-01')"
                ),
                {"n": n, "name": f"user{n}"},
            )
            db.session.execute(
                text(
                    "INSERT INTO post (title, creator_id, created_at, updated_at)"
                    " VALUES ('t', :n, '2026-01-01', '2026-01-01')"
                ),
                {"n": n},
            )
        db.session.commit()
        flask_migrate.upgrade(directory=MIGRATIONS_DIR)
        db.engine.dispose()
    with sqlite3.connect(path) as conn:
        schema = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'user'").fetchone()[0]
        assert "AUTOINCREMENT" in schema
        assert conn.execute("SELECT count(*) FROM post").fetchone() == (3,)
        assert conn.execute("PRAGMA foreign_key_list(post)").fetchall()[0][6] == "CASCADE"
    with app.app_context():
        db.session.execute(text("DELETE FROM user WHERE id = 3"))
        db.session.execute(
            text(
                "INSERT INTO user (username, username_key, password_hash, created_at, updated_at)"
                " VALUES ('new', 'new', 'h', '2026-01-01', '2026-01-01')"
            )
        )
        db.session.commit()
        ids = db.session.execute(text("SELECT id FROM user ORDER BY id")).scalars().all()
        posts = db.session.execute(text("SELECT count(*) FROM post")).scalar_one()
        db.engine.dispose()
    assert (ids, posts) == ([1, 2, 4], 2)
