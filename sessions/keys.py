"""The Redis key layout of sessions: the one place that knows how keys are named.

A session's record is ``<record prefix><session id>`` (``sess:`` by default, as in the
seed); a user's session index is ``<index prefix><user id>`` (``user-sessions:``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Ids are secrets.token_urlsafe(SESSION_ID_LENGTH): 22 characters for 16 bytes; the range
# also accepts the 43-character ids issued before ids were shortened, and longer settings.
SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")


def is_session_id(value: str) -> bool:
    """Whether a cookie value has the shape of an id this service issues."""
    return SID_PATTERN.fullmatch(value) is not None


@dataclass(frozen=True)
class SessionKeys:
    """Names the Redis keys of session records and of the per-user session indexes."""

    record_prefix: str
    index_prefix: str

    def record(self, sid: str) -> str:
        """The key holding the record of session ``sid``."""
        return self.record_prefix + sid

    def index(self, user_id: int) -> str:
        """The key holding the index of user ``user_id``'s sessions."""
        return f"{self.index_prefix}{user_id}"

    def index_pattern(self) -> str:
        """A SCAN pattern matching every user's index key."""
        return self.index_prefix + "*"

    def user_of_index(self, key: bytes | str) -> int | None:
        """The user id an index key names, or None for a key that is not one."""
        text = key.decode() if isinstance(key, bytes) else key
        user_id = text.removeprefix(self.index_prefix)
        return int(user_id) if text.startswith(self.index_prefix) and user_id.isdigit() else None
