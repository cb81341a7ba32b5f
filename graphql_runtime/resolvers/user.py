"""The User type: dates as epoch-millisecond strings, as the seed sends them."""

from __future__ import annotations

from ariadne import ObjectType

from graphql_runtime.resolvers.dates import with_dates

user_type = with_dates(ObjectType("User"))
