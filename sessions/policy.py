"""How long sessions live: the lifetime and the optional idle and absolute limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sessions.record import CREATED_AT, SEEN_AT


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live: lifetime, and the optional idle and absolute limits (0 = off)."""

    lifetime: int
    idle_timeout: int = 0
    max_age: int = 0
    touch_interval: int = 60

    def ttl(self, created_at: int, now: int) -> int:
        """Seconds the record may live from ``now``."""
        ttl = self.lifetime
        if self.idle_timeout:
            ttl = min(ttl, self.idle_timeout)
        if self.max_age:
            ttl = min(ttl, created_at + self.max_age - now)
        return ttl

    def expired(self, data: dict[str, Any], now: int) -> bool:
        """Whether a record is past the absolute limit."""
        return bool(self.max_age) and now - int(data.get(CREATED_AT, now)) >= self.max_age

    def touch_due(self, data: dict[str, Any], now: int) -> bool:
        """Whether an idle-timeout session should have its expiry pushed back now."""
        if not self.idle_timeout:
            return False
        seen = int(data.get(SEEN_AT, data.get(CREATED_AT, now)))
        return now - seen >= self.touch_interval
