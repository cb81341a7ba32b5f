"""A small known state for the mutation differential test, restored before every run of a
case and read back after it, and the pins that make two runs of a case write alike.

Two users with two posts each and the member logged in, with a reset token issued to the
member. A run must be repeatable to the byte, so inside ``pinned()`` the clock that stamps
rows and sessions stands still, and session ids, reset tokens and argon2 salts come from a
seeded generator that every run restarts.
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import redis
from argon2 import _password_hasher
from sqlalchemy import Connection, Engine, text

from extensions import db
from models import entities
from services import accounts, auth, posts
from sessions import store

T0 = datetime(2026, 6, 1, 12, 30, 15, 250_000, tzinfo=UTC)
SEED = 20261202
TABLES = ("user", "post")  # parents first
Patch = tuple[Any, str, Any]


class FrozenTime:
    """Stands in for the time module where sessions and auth read the clock."""

    @staticmethod
    def time() -> float:
        """The pinned instant, in seconds."""
        return T0.timestamp()


@contextmanager
def patched(changes: Sequence[Patch]) -> Iterator[None]:
    """Set each (object, attribute, value) for the block; put the old values back after."""
    saved = [(target, name, getattr(target, name)) for target, name, _ in changes]
    for target, name, value in changes:
        setattr(target, name, value)
    try:
        yield
    finally:
        for target, name, value in reversed(saved):
            setattr(target, name, value)


def pins(seed: int = SEED) -> list[Patch]:
    """The clock and every random draw a mutation makes, fixed (a fresh generator each call)."""
    draws = random.Random(seed)

    def token_urlsafe(nbytes: int | None = None) -> str:
        return base64.urlsafe_b64encode(draws.randbytes(nbytes or 32)).rstrip(b"=").decode()

    return [
        *((module, "utc_now_ms", lambda: T0) for module in (entities, posts, accounts)),
        (store, "time", FrozenTime),
        (auth, "time", FrozenTime),
        (secrets, "token_urlsafe", token_urlsafe),  # session ids, reset tokens, device ids
        (_password_hasher, "os", SimpleNamespace(urandom=draws.randbytes)),  # argon2 salts
    ]


@contextmanager
def pinned(seed: int = SEED) -> Iterator[None]:
    """Clock and random draws fixed for the block, the same draws every time."""
    with patched(pins(seed)):
        yield


@dataclass(frozen=True)
class Snapshot:
    """The rows, sequence positions and Redis keys (dumped, with their TTLs) of a state."""

    rows: dict[str, list[dict[str, Any]]]
    sequences: list[tuple[Any, ...]]
    keys: list[tuple[bytes, int, bytes]]


class StateStore:
    """Takes, restores and reads the state of the test database and Redis database."""

    def __init__(self, engine: Engine, client: redis.Redis) -> None:
        self.engine = engine
        self.redis = client
        self.postgres = engine.dialect.name == "postgresql"

    def empty(self) -> None:
        """No rows, sequences back at their start, no Redis keys."""
        self.restore(Snapshot({name: [] for name in TABLES}, [], []))

    def take(self) -> Snapshot:
        """The state as it is now, to restore later."""
        with self.engine.connect() as conn:
            rows = {name: _rows(conn, name) for name in TABLES}
            sequences = self._sequences(conn)
        keys = []
        for key in self._keys():
            dumped = self.redis.dump(key)
            assert dumped is not None, key  # nothing else writes to the test database
            keys.append((key, max(self.redis.pttl(key), 0), dumped))
        return Snapshot(rows, sequences, keys)

    def restore(self, snapshot: Snapshot) -> None:
        """Bring the database and Redis back to ``snapshot`` exactly, ids to come included."""
        self.redis.flushdb()
        for key, ttl, dumped in snapshot.keys:
            self.redis.restore(key, ttl, dumped)
        with self.engine.begin() as conn:
            for name in reversed(TABLES):
                conn.execute(db.metadata.tables[name].delete())
            for name in TABLES:
                if snapshot.rows[name]:
                    conn.execute(db.metadata.tables[name].insert(), snapshot.rows[name])
            self._set_sequences(conn, snapshot.sequences)

    def read(self) -> dict[str, Any]:
        """What a run left: every row, sequence position and Redis key with its value."""
        with self.engine.connect() as conn:
            state: dict[str, Any] = {name: _rows(conn, name) for name in TABLES}
            state["sequences"] = self._sequences(conn)
        state["redis"] = [(key, *self._value(key)) for key in self._keys()]
        return state

    def _keys(self) -> list[bytes]:
        return sorted(self.redis.scan_iter(count=1000))

    def _value(self, key: bytes) -> tuple[str, Any, bool]:
        """A key's type, value (order-free types sorted) and whether it expires."""
        raw = self.redis.type(key)
        kind = raw.decode() if isinstance(raw, bytes) else raw
        readers = {
            "string": lambda: self.redis.get(key),
            "set": lambda: sorted(self.redis.smembers(key)),
            "hash": lambda: sorted(self.redis.hgetall(key).items()),
            "list": lambda: self.redis.lrange(key, 0, -1),
            "zset": lambda: self.redis.zrange(key, 0, -1, withscores=True),
        }
        return kind, readers[kind](), self.redis.ttl(key) > 0

    def _sequences(self, conn: Connection) -> list[tuple[Any, ...]]:
        if not self.postgres:
            found = conn.execute(text("SELECT name, seq FROM sqlite_sequence ORDER BY name"))
            return [tuple(row) for row in found]
        positions = []
        for name in TABLES:
            sequence = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": f'"{name}"'}
            ).scalar_one()
            row = conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
            positions.append((sequence, *row))
        return positions

    def _set_sequences(self, conn: Connection, positions: list[tuple[Any, ...]]) -> None:
        if not self.postgres:
            conn.execute(text("DELETE FROM sqlite_sequence"))
            for name, seq in positions:
                conn.execute(
                    text("INSERT INTO sqlite_sequence VALUES (:n, :s)"), {"n": name, "s": seq}
                )
            return
        if not positions:  # empty: every sequence back at its start
            conn.execute(text('TRUNCATE TABLE "user", post RESTART IDENTITY CASCADE'))
        for sequence, value, called in positions:
            conn.execute(
                text("SELECT setval(:s, :v, :c)"), {"s": sequence, "v": value, "c": called}
            )


def _rows(conn: Connection, name: str) -> list[dict[str, Any]]:
    table = db.metadata.tables[name]
    return [dict(row) for row in conn.execute(table.select().order_by(table.c.id)).mappings()]
