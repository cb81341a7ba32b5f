"""Private server processes that fault tests may stop, pause, fill or kill.

- ``RedisProcess``: a real ``redis-server`` on a free loopback port in its own directory,
  kept as a ``Popen`` so tests can shut it down, restart it (with or without its data),
  SIGSTOP/SIGCONT it or reconfigure it.
- ``PostgresCluster``: a throwaway PostgreSQL cluster (initdb + pg_ctl) on a free loopback
  port, its socket in its own directory, run as the ``postgres`` user when tests run as root.

The shared servers on 6379/5432 are never touched by anything here.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.engine import make_url

from tests.processes import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
PG_USER = "postgres"


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``check`` until it is true; raise TimeoutError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not within {timeout}s")


class RedisProcess:
    """A redis-server owned by one test: start, stop, restart, pause, resume."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        """The redis:// URL the app connects with."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None
        return self.process.pid

    def client(self, **options: Any) -> redis.Redis:
        """A fresh admin client (its own connection, generous timeouts)."""
        options.setdefault("socket_timeout", 5)
        options.setdefault("retry", Retry(NoBackoff(), 0))  # the default retries with backoff
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2, **options)

    def start(self) -> None:
        """Start the server; it loads dump.rdb from its directory if a save left one."""
        args = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--dbfilename",
            "dump.rdb",
            "--logfile",
            str(self.workdir / "redis.log"),
            "--enable-debug-command",
            "local",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.paused = False
        wait_for(self._answers, 10, f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}")
        try:
            return bool(self.client(socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def shutdown(self, save: bool = False) -> None:
        """Stop the server; with ``save`` its data is written so a restart keeps it."""
        assert self.process is not None
        if not save:
            (self.workdir / "dump.rdb").unlink(missing_ok=True)
        with suppress(redis.ConnectionError):  # the server closes the connection as it exits
            self.client().shutdown(save=save, nosave=not save)
        self.process.wait(10)

    def restart(self, keep_data: bool = True) -> None:
        """Stop and start again on the same port."""
        self.shutdown(save=keep_data)
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing ever answers."""
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT after ``pause``."""
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def app_clients(self, name: str = "seed-service") -> list[dict[str, Any]]:
        """CLIENT LIST entries of connections the app opened (by client name)."""
        return [c for c in self.client().client_list() if c.get("name") == name]

    def close(self) -> None:
        """Kill the server if it still runs (resuming it first if paused)."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.paused:
            self.resume()
        self.process.kill()
        self.process.wait(10)


class ClusterUnavailable(RuntimeError):
    """A private PostgreSQL cluster cannot be created on this machine."""


def _pg_bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    return None


class PostgresCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port>, trust auth, user postgres."""

    def __init__(self, bindir: Path, workdir: Path) -> None:
        self.bindir = bindir
        self.workdir = workdir
        self.datadir = workdir / "data"
        self.port = free_port()

    @classmethod
    def create(cls) -> PostgresCluster:
        """initdb a new cluster in a fresh temp dir; ClusterUnavailable says why not."""
        bindir = _pg_bindir()
        if bindir is None:
            raise ClusterUnavailable("no /usr/lib/postgresql/*/bin/initdb (Debian postgresql)")
        workdir = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        _give_to_postgres(workdir)
        cluster = cls(bindir, workdir)
        cluster._run(
            "initdb",
            "-D",
            str(cluster.datadir),
            "-A",
            "trust",
            "-U",
            PG_USER,
            "-E",
            "UTF8",
            "--no-sync",
        )
        return cluster

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", PG_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, timeout=60, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")[-800:]
            raise ClusterUnavailable(f"{tool} failed ({result.returncode}): {output}")

    def start(self) -> None:
        """pg_ctl start, listening on 127.0.0.1 only, socket in the cluster's own dir."""
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off "  # a process crash loses nothing
            "-c max_connections=60"
        )
        log = str(self.workdir / "postgres.log")
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", log, "-w", "-t", "30", "-o", options, "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop (``fast`` or ``immediate``)."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        """Whether the postmaster answers."""
        try:
            with self.connect(connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def url(self, database: str = "postgres") -> str:
        """A postgresql:// URL for one database of the cluster."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres", **options: Any) -> psycopg.Connection[Any]:
        """A direct autocommit connection (for setup and inspection, not for the app)."""
        options.setdefault("connect_timeout", 5)
        return psycopg.connect(self.url(database), autocommit=True, **options)

    def destroy(self) -> None:
        """Stop the cluster if it runs and delete its directory."""
        if (self.datadir / "postmaster.pid").exists():
            with suppress(ClusterUnavailable):
                self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() != 0:
        return
    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError:
        raise ClusterUnavailable(f"running as root and there is no {PG_USER!r} user") from None
    os.chown(path, entry.pw_uid, entry.pw_gid)


def libpq_url(url: str, database: str | None = None) -> str:
    """``url`` as a plain postgresql:// URL (for psycopg), optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextmanager
def scratch_database(admin_url: str, prefix: str = "faults") -> Iterator[str]:
    """A uniquely named, empty database on the server ``admin_url`` names; dropped after."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = libpq_url(admin_url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield libpq_url(admin_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
