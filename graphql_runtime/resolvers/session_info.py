"""The SessionInfo type: one of the user's sessions."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from services.user_sessions import SessionInfo

session_info_type = ObjectType("SessionInfo")


@session_info_type.field("createdAt")
def resolve_created_at(info: SessionInfo, *_: Any) -> str:
    """When the session began, in epoch milliseconds."""
    return str(info.created_at_ms)


@session_info_type.field("userAgent")
def resolve_user_agent(info: SessionInfo, *_: Any) -> str:
    """The browser or client that logged in."""
    return info.user_agent
