"""The per-user index of live sessions, so a user (or an operator) can see and end them all.

One Redis hash per user (``user-sessions:<userId>``, as ``sessions.keys`` names it) maps each
session id to a small msgpack record (created-at, user agent, IP). Every command touches a
single key, so the index works unchanged on Redis Cluster. Entries whose session expired are
pruned whenever the index is read; the hash itself expires with the newest session it lists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import redis

from sessions.keys import SessionKeys

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(dict[str, Any])


def public_id(sid: str) -> str:
    """An opaque, stable id for a session that does not reveal the cookie value."""
    return hashlib.blake2b(sid.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class SessionEntry:
    """What the index knows about one live session."""

    sid: str
    created_at_ms: int
    user_agent: str
    ip: str

    @property
    def public_id(self) -> str:
        """The id shown to users; never the cookie value."""
        return public_id(self.sid)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decode_entry(sid: str, raw: bytes | str) -> SessionEntry:
    try:
        meta = _decoder.decode(raw.encode() if isinstance(raw, str) else raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        meta = {}
    return SessionEntry(
        sid=sid,
        created_at_ms=int(meta.get("c", 0)),
        user_agent=str(meta.get("ua", "")),
        ip=str(meta.get("ip", "")),
    )


class SessionIndex:
    """Reads and writes the per-user session hashes."""

    def __init__(self, client: redis.Redis, keys: SessionKeys, ttl: int) -> None:
        self.client = client
        self.keys = keys
        self.ttl = ttl

    def users(self) -> Iterator[int]:
        """The ids of the users that have an index (SCAN: it does not block Redis)."""
        for key in self.client.scan_iter(match=self.keys.index_pattern(), count=500):
            user_id = self.keys.user_of_index(key)
            if user_id is not None:
                yield user_id

    def add(self, user_id: int, entry: SessionEntry) -> None:
        """Record a new session of the user."""
        meta = {"c": entry.created_at_ms, "ua": entry.user_agent, "ip": entry.ip}
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.keys.index(user_id), entry.sid, _encoder.encode(meta))
        pipe.expire(self.keys.index(user_id), self.ttl)
        pipe.execute()

    def remove(self, user_id: int, sid: str) -> None:
        """Forget one session of the user."""
        self.client.hdel(self.keys.index(user_id), sid)

    def live(self, user_id: int) -> list[SessionEntry]:
        """The user's sessions whose records still exist, newest first; prunes the rest."""
        entries = [
            _decode_entry(_text(sid), raw)
            for sid, raw in self.client.hgetall(self.keys.index(user_id)).items()
        ]
        alive = self._alive(entries)
        dead = [e.sid for e, ok in zip(entries, alive, strict=True) if not ok]
        if dead:
            self.client.hdel(self.keys.index(user_id), *dead)
        live = [e for e, ok in zip(entries, alive, strict=True) if ok]
        return sorted(live, key=lambda e: e.created_at_ms, reverse=True)

    def end_all(self, user_id: int, keep_sid: str | None = None) -> int:
        """Delete every session of the user except ``keep_sid``; returns how many ended."""
        sids = [_text(sid) for sid in self.client.hkeys(self.keys.index(user_id))]
        doomed = [sid for sid in sids if sid != keep_sid]
        if not doomed:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for sid in doomed:
            pipe.delete(self.keys.record(sid))
        pipe.hdel(self.keys.index(user_id), *doomed)
        ended = pipe.execute()[:-1]
        return sum(int(n) for n in ended)

    def purge_orphans(self, user_id: int) -> int:
        """Drop index entries whose session expired; returns how many were dropped."""
        before = self.client.hlen(self.keys.index(user_id))
        return int(before) - len(self.live(user_id))

    def _alive(self, entries: list[SessionEntry]) -> list[bool]:
        if not entries:
            return []
        pipe = self.client.pipeline(transaction=False)
        for entry in entries:
            pipe.exists(self.keys.record(entry.sid))
        return [bool(n) for n in pipe.execute()]
