"""The User type: dates as epoch-millisecond strings, as the seed sends them."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from models import User, epoch_ms

user_type = ObjectType("User")


@user_type.field("createdAt")
def resolve_created_at(user: User, *_: Any) -> str:
    """When the account was made."""
    return epoch_ms(user.created_at)


@user_type.field("updatedAt")
def resolve_updated_at(user: User, *_: Any) -> str:
    """When the account last changed."""
    return epoch_ms(user.updated_at)
