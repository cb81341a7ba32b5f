"""GraphQL resolvers, one bindable per module, gathered for make_executable_schema."""

from resolvers.mutation import mutation
from resolvers.post import post_type
from resolvers.query import query
from resolvers.session_info import session_info_type
from resolvers.user import user_type
from resolvers.user_response import user_response_type

bindables = [query, mutation, user_type, post_type, user_response_type, session_info_type]

__all__ = ["bindables"]
