"""The Post type: dates as epoch-millisecond strings and a batched creator."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from graphql_runtime.resolvers.context import Info, context_of
from models.rows import UserSummary
from services.posts import PostRecord

post_type = ObjectType("Post")


@post_type.field("createdAt")
def resolve_created_at(obj: PostRecord, *_: Any) -> str:
    """When the post was made."""
    return str(obj.created_at_ms)


@post_type.field("updatedAt")
def resolve_updated_at(obj: PostRecord, *_: Any) -> str:
    """When the post last changed."""
    return str(obj.updated_at_ms)


@post_type.field("creator")
def resolve_creator(obj: PostRecord, info: Info) -> UserSummary | None:
    """The post's creator, batched with the other posts of this response."""
    return context_of(info).users.get(obj.creator_id)
