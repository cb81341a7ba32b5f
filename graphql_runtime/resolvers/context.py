"""The context every resolver receives: the request and its session, as the seed's { req }."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Request
from graphql import GraphQLResolveInfo

from graphql_runtime.resolvers.loaders import UserLoader
from sessions.session import StoredSession


@dataclass
class RequestContext:
    """The request and its session, as the seed passed them, plus the per-request loader."""

    request: Request
    session: StoredSession
    users: UserLoader = field(default_factory=UserLoader)


Info = GraphQLResolveInfo[RequestContext]


def context_of(info: Info) -> RequestContext:
    """The typed context of a resolver call."""
    return info.context
