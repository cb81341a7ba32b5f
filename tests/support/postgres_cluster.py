"""PostgreSQL of a test's own: a throwaway cluster, and scratch databases on any server.

``PostgresCluster`` is initdb + pg_ctl on a free loopback port, its socket in its own
directory, run as the ``postgres`` user when tests run as root. The shared server on 5432
is only ever given scratch databases, which are dropped after.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from tests.support.polling import free_port

PG_USER = "postgres"


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
