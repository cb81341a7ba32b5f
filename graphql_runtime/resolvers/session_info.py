"""The SessionInfo type: one of the user's sessions."""

from __future__ import annotations

from ariadne import ObjectType

from graphql_runtime.resolvers.dates import resolve_created_at

session_info_type = ObjectType("SessionInfo")
session_info_type.set_field("createdAt", resolve_created_at)  # when the session began
