"""The Post type: camelCase fields and a batched creator."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from graphql_runtime.resolvers.context import Info, context_of
from models.rows import UserSummary
from services.posts import PostView

post_type = ObjectType("Post")


@post_type.field("createdAt")
def resolve_created_at(post: PostView, *_: Any) -> str:
    """When the post was made."""
    return str(post.created_at_ms)


@post_type.field("updatedAt")
def resolve_updated_at(post: PostView, *_: Any) -> str:
    """When the post last changed."""
    return str(post.updated_at_ms)


@post_type.field("creatorId")
def resolve_creator_id(post: PostView, *_: Any) -> int:
    """The id of the user who made the post."""
    return post.creator_id


@post_type.field("creator")
def resolve_creator(post: PostView, info: Info) -> UserSummary | None:
    """The post's creator, batched with the other posts of this response."""
    return context_of(info).users.get(post.creator_id)
