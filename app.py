"""The application factory."""

from __future__ import annotations

import re
import secrets

from flask import Flask, g, request

import logging_setup
import web_security
from blueprints import explorer, graphql_api, rest
from cli import register_commands
from config import INSTANCE_DIR, Config, load_config
from db_setup import MIGRATIONS_DIR, register_session_cleanup
from errors import register_error_handlers
from extensions import db, migrate, redis_client, server_sessions
from query_executor import graphql_runtime

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def create_app(config: Config | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=True)
    app.config.from_object(config or load_config())
    logging_setup.init_app(app)
    init_extensions(app)
    web_security.init_app(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_ids(app)
    register_commands(app)
    return app


def init_extensions(app: Flask) -> None:
    """Attach the database, migrations, Redis, sessions and GraphQL to the app."""
    db.init_app(app)
    register_session_cleanup(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    redis_client.init_app(app)
    server_sessions.init_app(app, app.extensions["redis"])
    graphql_runtime.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Mount the GraphQL endpoint, its explorer and the REST blueprint."""
    app.register_blueprint(graphql_api.bp)
    app.register_blueprint(explorer.bp)
    app.register_blueprint(rest.bp)


def register_request_ids(app: Flask) -> None:
    """Give every request an id, echoed in X-Request-Id and used in error logs."""

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)

    @app.after_request
    def echo_request_id(response):  # type: ignore[no-untyped-def]
        if "request_id" in g:
            response.headers["X-Request-Id"] = g.request_id
        return response
