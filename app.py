"""The application factory."""

from __future__ import annotations

from flask import Flask

from blueprints import explorer, graphql_api, metrics, rest
from blueprints.errors import register_error_handlers
from cli import register_commands
from config import INSTANCE_DIR, Config, load_config
from extensions import db, migrate, redis_extension, server_sessions
from graphql_runtime.executor import graphql_runtime
from infra import logs, tracing
from infra.database import MIGRATIONS_DIR, register_db_session_teardown
from web import edge, security
from web.application import Application


def create_app(config: Config | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers."""
    app = Application(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=True)
    app.config.from_object(config or load_config())
    edge.init_app(app)  # around Flask: every answer, refusals and 404s too, has its id
    logs.init_app(app)
    init_extensions(app)
    init_observability(app)  # before security's hooks: refused requests get spans too
    security.init_app(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def init_extensions(app: Flask) -> None:
    """Attach the database, migrations, Redis, sessions and GraphQL to the app."""
    db.init_app(app)
    register_db_session_teardown(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    redis_extension.init_app(app)
    server_sessions.init_app(app, app.extensions["redis"])
    graphql_runtime.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Mount the GraphQL endpoint, its explorer and the REST blueprint."""
    app.register_blueprint(graphql_api.bp)
    app.register_blueprint(explorer.bp)
    app.register_blueprint(rest.bp)
    app.register_blueprint(metrics.bp)


def init_observability(app: Flask) -> None:
    """Tracing when OTEL_* configures it (the edge records every request's metrics)."""
    with app.app_context():
        tracing.init_app(app, db.engine)
