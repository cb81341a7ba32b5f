"""POST /graphql runs operations; GET /graphql serves the explorer in development."""

from __future__ import annotations

from typing import Any

from ariadne.explorer import ExplorerGraphiQL
from flask import Blueprint, Response, abort, current_app, request
from werkzeug.exceptions import BadRequest

from extensions import db, redis_client
from http_json import json_response, read_json_object
from query_executor import graphql_runtime
from resolvers.context import RequestContext
from session_store import current_session

bp = Blueprint("graphql_api", __name__)
_explorer_html = ExplorerGraphiQL(title="seed-service GraphQL").html(None)


@bp.post("/graphql")
def execute_operation() -> Response:
    """Run one GraphQL operation sent as a JSON object."""
    data = read_operation()
    context = RequestContext(
        request=request,
        session=current_session(),
        db=db.session,
        redis=redis_client.client,
    )
    outcome = graphql_runtime.executor.execute(data, context)
    return json_response(outcome.body, outcome.status, outcome.headers)


@bp.get("/graphql")
def explorer() -> str:
    """The GraphiQL explorer, in development only."""
    if not current_app.config["GRAPHQL_EXPLORER"]:
        abort(404)
    return _explorer_html


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
