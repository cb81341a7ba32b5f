"""Read-only views of rows: what listings return when they skip the ORM.

Loading 20 ORM objects costs identity-map bookkeeping and change tracking a read never
uses; these plain objects carry the same attributes the GraphQL types resolve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


def epoch_ms(moment: datetime) -> int:
    """An aware datetime in epoch milliseconds, as the API sends dates."""
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A user's public fields."""

    id: int
    username: str
    created_at_ms: int
    updated_at_ms: int

    @classmethod
    def from_row(cls, row: Any) -> UserSummary:
        """From a row of (id, username, created_at, updated_at)."""
        return cls(row.id, row.username, epoch_ms(row.created_at), epoch_ms(row.updated_at))


@dataclass(frozen=True, slots=True)
class PostSummary:
    """A post's fields."""

    id: int
    title: str
    creator_id: int
    created_at_ms: int
    updated_at_ms: int

    @classmethod
    def from_row(cls, row: Any) -> PostSummary:
        """From a row of (id, title, creator_id, created_at, updated_at)."""
        created, updated = epoch_ms(row.created_at), epoch_ms(row.updated_at)
        return cls(row.id, row.title, row.creator_id, created, updated)
