"""Fixtures for tests that start private servers (loaded by conftest as a plugin).

- ``private_redis``: a ``RedisProcess`` of the test's own, which it may stop, pause or fill;
  ``redis_app``: the app on it and a migrated SQLite file (the Redis fault tests);
- ``postgres_cluster`` / ``private_postgres`` / ``postgres_admin_url``: PostgreSQL of the
  run's own (a test may stop it), else the TEST_DATABASE_URL server for harmless tests;
- ``private_database`` / ``harmless_database``: a fresh database on either, dropped after;
- ``server_kind``: each of the production servers, gunicorn and Granian.

The processes themselves live in ``tests.support``; the shared servers on 6379/5432 are
never touched by anything here.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.support import (
    REDIS_SERVER,
    SERVERS,
    ClusterUnavailable,
    PostgresCluster,
    RedisProcess,
    scratch_database,
)


@pytest.fixture(params=SERVERS)
def server_kind(request: pytest.FixtureRequest) -> str:
    """The production server a process-level test runs the product under."""
    return str(request.param)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of the test's own, started; killed at the end whatever its state."""
    if not Path(REDIS_SERVER).exists():
        pytest.skip(f"{REDIS_SERVER} is missing: install Debian redis-server")
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisProcess(workdir)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_app(tmp_path: Path, private_redis: RedisProcess) -> Flask:
    """The app on a migrated SQLite file and the test's own redis-server."""
    from tests.faults import migrated_app  # tests.faults imports conftest, which loads this

    return migrated_app(f"sqlite:///{tmp_path / 'app.sqlite'}", private_redis.url)


def _start_cluster() -> PostgresCluster:
    cluster = PostgresCluster.create()
    try:
        cluster.start()
    except (ClusterUnavailable, subprocess.TimeoutExpired):
        cluster.destroy()
        raise
    return cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster | str]:
    """This run's own PostgreSQL cluster, or the reason it could not be started."""
    try:
        cluster = _start_cluster()
    except (ClusterUnavailable, subprocess.TimeoutExpired, OSError) as error:
        reason = f"private PostgreSQL cluster unavailable: {error}"
        print(reason)
        yield reason
        return
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def private_postgres(postgres_cluster: PostgresCluster | str) -> PostgresCluster:
    """The private cluster, which a test may stop and start; skips when there is none."""
    if isinstance(postgres_cluster, str):
        pytest.skip(postgres_cluster)
    if not postgres_cluster.running():
        postgres_cluster.start()  # a failed test may have left it stopped
    return postgres_cluster


@pytest.fixture
def postgres_admin_url(postgres_cluster: PostgresCluster | str) -> str:
    """A server for tests that do no harm to it: the private cluster, else TEST_DATABASE_URL."""
    if isinstance(postgres_cluster, PostgresCluster):
        if not postgres_cluster.running():
            postgres_cluster.start()
        return postgres_cluster.url()
    shared = os.environ.get("TEST_DATABASE_URL")
    if not shared:
        pytest.skip(f"{postgres_cluster}; and TEST_DATABASE_URL is not set")
    return shared


@pytest.fixture
def private_database(private_postgres: PostgresCluster) -> Iterator[str]:
    """A fresh database on the private cluster (which the test may stop)."""
    with scratch_database(private_postgres.url()) as url:
        yield url


@pytest.fixture
def harmless_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database on the private cluster, else on the TEST_DATABASE_URL server."""
    with scratch_database(postgres_admin_url) as url:
        yield url
