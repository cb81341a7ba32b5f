"""Query fields."""

from __future__ import annotations

from typing import Any

from ariadne import QueryType

from graphql_runtime.resolvers.context import Info, context_of
from models import Post
from models.rows import PostSummary
from services import accounts, posts, user_sessions
from services.accounts import UserRecord
from services.user_sessions import SessionInfo

query = QueryType()


@query.field("hello")
def resolve_hello(*_: Any) -> str:
    """The seed's smoke test."""
    return "hello world"


@query.field("posts")
def resolve_posts(
    _: Any, info: Info, limit: int = 50, cursor: str | None = None
) -> list[PostSummary]:
    """Newest posts first; their creators are fetched together if asked for."""
    found = posts.list_posts(limit, cursor)
    context_of(info).users.prime([post.creator_id for post in found])
    return found


@query.field("post")
def resolve_post(_: Any, info: Info, id: int) -> Post | None:
    """One post by id."""
    return posts.get_post(id)


@query.field("me")
def resolve_me(_: Any, info: Info) -> UserRecord | None:
    """The logged-in user, or null."""
    return accounts.current_user(context_of(info).session)


@query.field("sessions")
def resolve_sessions(_: Any, info: Info) -> list[SessionInfo]:
    """The logged-in user's sessions on every device."""
    return user_sessions.list_sessions(context_of(info).session)
