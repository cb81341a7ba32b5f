"""The backing services of a benchmark run: a private redis-server and databases on PostgreSQL."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import LiteralString

import psycopg
import redis
from psycopg import sql

from tests.support import RedisProcess

# Commands the benchmark itself sends while measuring; never counted against a server.
OWN_COMMANDS = frozenset({"info", "config", "memory", "scan", "ping", "client", "keys", "flushdb"})


class PrivateRedis:
    """A redis-server of our own on a free port, so its command counts are ours alone."""

    def __init__(self, cpu: str | None = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        prefix = ("taskset", "-c", cpu) if cpu else ()
        self.server = RedisProcess(Path(self.dir), prefix)
        self.server.start()
        self.port = self.server.port
        self.url = self.server.url
        self.client = redis.Redis.from_url(self.url)

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
        self.server.close()
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
