"""The backing services of a benchmark run: a private redis-server and databases on PostgreSQL."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import LiteralString

import psycopg
import redis
from psycopg import sql

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# Commands the benchmark itself sends while measuring; never counted against a server.
OWN_COMMANDS = frozenset({"info", "config", "memory", "scan", "ping", "client", "keys", "flushdb"})


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of our own on a free port, so its command counts are ours alone."""

    def __init__(self, cpu: str | None = None) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", self.dir, "--logfile", f"{self.dir}/redis.log"]
        prefix = ["taskset", "-c", cpu] if cpu else []
        self.process = subprocess.Popen([*prefix, *args], stdout=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis.from_url(self.url)
        self._wait()

    def _wait(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def version(self) -> str:
        """The server's version."""
        return str(self.client.info("server")["redis_version"])

    def command_counts(self) -> Counter[str]:
        """Calls per command so far, leaving out the benchmark's own inspection commands."""
        stats = self.client.info("commandstats")
        counts: Counter[str] = Counter()
        for name, values in stats.items():
            command = name.removeprefix("cmdstat_").lower()
            if command.split("|")[0] not in OWN_COMMANDS:
                counts[command] = int(values["calls"])
        return counts

    def memory_usage(self, key: str) -> int | None:
        """Bytes Redis spends on one key (MEMORY USAGE, all samples)."""
        value = self.client.memory_usage(key, samples=0)
        return int(value) if value is not None else None

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Postgres:
    """Databases of our own on the shared PostgreSQL server (trust auth)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5432, user: str = "postgres") -> None:
        self.host, self.port, self.user = host, port, user

    def url(self, database: str) -> str:
        """A postgresql:// URL for one database."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def recreate(self, database: str) -> str:
        """Drop and create a database; return its URL."""
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        return self.url(database)

    def drop(self, database: str) -> None:
        """Drop a database if it exists."""
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )

    def version(self) -> str:
        """The server's version."""
        with self._admin() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def execute(self, database: str, statement: LiteralString, *params: object) -> None:
        """Run one statement in a database."""
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement, params)

    def scalar(self, database: str, query: LiteralString) -> object:
        """The first column of the first row of a query."""
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            row = conn.execute(query).fetchone()
        return row[0] if row else None


def counter_delta(after: Counter[str], before: Counter[str]) -> Counter[str]:
    """Per-command differences, without zeros."""
    return Counter({k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)})


def redis_port_of(url: str) -> int:
    """The port of a redis:// URL."""
    return int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])


def project_dir() -> Path:
    """The checkout this benchmark belongs to."""
    return Path(__file__).resolve().parent.parent
