"""POST /graphql runs operations (GET /graphql, the explorer, is in blueprints/explorer.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import BadRequest

from graphql_runtime.executor import graphql_runtime
from graphql_runtime.resolvers.context import RequestContext
from sessions.extension import current_session
from web.json_body import json_response, read_json_object

bp = Blueprint("graphql_api", __name__)


@bp.post("/graphql")
def execute_operation() -> Response:
    """Run one GraphQL operation sent as a JSON object."""
    data = read_operation()
    context = RequestContext(request=request, session=current_session())
    outcome = graphql_runtime.executor.execute(data, context)
    return json_response(outcome.body, outcome.status, outcome.headers)


def read_operation() -> dict[str, Any]:
    """The operation from the body: 400 unless query, variables and name are well-formed."""
    data = read_json_object(request)
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest("The 'query' field must be a non-empty string.")
    if not isinstance(data.get("variables") or {}, dict):
        raise BadRequest("The 'variables' field must be an object or null.")
    if not isinstance(data.get("operationName") or "", str):
        raise BadRequest("The 'operationName' field must be a string or null.")
    return data
