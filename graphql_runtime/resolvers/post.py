"""The Post type: dates as epoch-millisecond strings and a batched creator."""

from __future__ import annotations

from ariadne import ObjectType

from graphql_runtime.resolvers.context import Info, context_of
from graphql_runtime.resolvers.dates import with_dates
from models.rows import UserSummary
from services.posts import PostRecord

post_type = with_dates(ObjectType("Post"))


@post_type.field("creator")
def resolve_creator(obj: PostRecord, info: Info) -> UserSummary | None:
    """The post's creator, batched with the other posts of this response."""
    return context_of(info).users.get(obj.creator_id)
