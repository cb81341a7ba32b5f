"""The context every resolver receives: request, session, database and Redis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis
from flask import Request
from graphql import GraphQLResolveInfo
from sqlalchemy.orm import scoped_session

from graphql_runtime.resolvers.loaders import UserLoader
from sessions.session import StoredSession


@dataclass
class RequestContext:
    """What the seed passed as { req, res, redis, em }, plus per-request loaders."""

    request: Request
    session: StoredSession
    db: scoped_session[Any]
    redis: redis.Redis
    users: UserLoader = field(default_factory=UserLoader)


Info = GraphQLResolveInfo[RequestContext]


def context_of(info: Info) -> RequestContext:
    """The typed context of a resolver call."""
    return info.context
