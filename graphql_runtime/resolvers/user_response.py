"""UserResponse: field errors as data, never as top-level errors."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from models import User
from services.accounts import AccountResult
from services.validation import FieldError

user_response_type = ObjectType("UserResponse")


@user_response_type.field("errors")
def resolve_errors(obj: AccountResult, *_: Any) -> list[FieldError] | None:
    """The field errors, or null when there are none (as the seed answers)."""
    return obj.errors or None


@user_response_type.field("user")
def resolve_user(obj: AccountResult, *_: Any) -> User | None:
    """The user, when the operation succeeded."""
    return obj.user
