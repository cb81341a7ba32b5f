"""The User type: dates as epoch-millisecond strings, as the seed sends them."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from services.accounts import UserRecord

user_type = ObjectType("User")


@user_type.field("createdAt")
def resolve_created_at(obj: UserRecord, *_: Any) -> str:
    """When the account was made."""
    return str(obj.created_at_ms)


@user_type.field("updatedAt")
def resolve_updated_at(obj: UserRecord, *_: Any) -> str:
    """When the account last changed."""
    return str(obj.updated_at_ms)
