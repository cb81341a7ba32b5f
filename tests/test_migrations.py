"""Migrations are the schema's only source: they build it, and the models match them."""

from __future__ import annotations

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from extensions import db
from infra.database import MIGRATIONS_DIR


def test_upgrade_builds_the_schema(app: Flask) -> None:
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"user", "post", "alembic_version"} <= tables


def test_models_match_migrations(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_and_upgrade_again(app_factory, tmp_path) -> None:
    app = app_factory(env={"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite'}"})
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS_DIR)
        flask_migrate.downgrade(directory=MIGRATIONS_DIR, revision="base")
        assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
        flask_migrate.upgrade(directory=MIGRATIONS_DIR)
        assert {"user", "post"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
