"""GraphQL resolvers, one bindable per module, gathered for make_executable_schema."""

from graphql_runtime.resolvers.mutation import mutation
from graphql_runtime.resolvers.post import post_type
from graphql_runtime.resolvers.query import query
from graphql_runtime.resolvers.session_info import session_info_type
from graphql_runtime.resolvers.user import user_type
from graphql_runtime.resolvers.user_response import user_response_type

bindables = [query, mutation, user_type, post_type, user_response_type, session_info_type]

__all__ = ["bindables"]
