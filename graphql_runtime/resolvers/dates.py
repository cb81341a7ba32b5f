"""Dates as the seed sends them: epoch milliseconds, as strings."""

from __future__ import annotations

from typing import Any, Protocol

from ariadne import ObjectType


class Created(Protocol):
    """A row with a creation time."""

    @property
    def created_at_ms(self) -> int:
        """When it was made, in epoch milliseconds."""


class Stamped(Created, Protocol):
    """A row with creation and last-change times."""

    @property
    def updated_at_ms(self) -> int:
        """When it last changed, in epoch milliseconds."""


def resolve_created_at(obj: Created, *_: Any) -> str:
    """When the object was made."""
    return str(obj.created_at_ms)


def resolve_updated_at(obj: Stamped, *_: Any) -> str:
    """When the object last changed."""
    return str(obj.updated_at_ms)


def with_dates(object_type: ObjectType) -> ObjectType:
    """``object_type`` with its createdAt and updatedAt fields resolved from the row."""
    object_type.set_field("createdAt", resolve_created_at)
    object_type.set_field("updatedAt", resolve_updated_at)
    return object_type
