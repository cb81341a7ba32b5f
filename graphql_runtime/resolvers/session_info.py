"""The SessionInfo type: one of the user's sessions."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from services.user_sessions import SessionInfo

session_info_type = ObjectType("SessionInfo")


@session_info_type.field("createdAt")
def resolve_created_at(obj: SessionInfo, *_: Any) -> str:
    """When the session began, in epoch milliseconds."""
    return str(obj.created_at_ms)
