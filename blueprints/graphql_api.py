"""/graphql: POST runs operations, GET runs queries (or shows the explorer to a browser)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import NotAcceptable

from blueprints import explorer
from graphql_runtime.executor import graphql_runtime
from graphql_runtime.resolvers.context import RequestContext
from sessions.extension import current_session
from web.graphql_http import (
    GRAPHQL_PATH,
    GRAPHQL_RESPONSE,
    check_operation,
    graphql_response,
    prefers_html,
    read_get_operation,
    response_media_type,
)
from web.json_body import read_json_object

bp = Blueprint("graphql_api", __name__)


@bp.post(GRAPHQL_PATH)
def execute_operation() -> Response:
    """Run one GraphQL operation sent as a JSON object."""
    media_type = negotiate()
    return run(check_operation(read_json_object(request)), media_type, read_only=False)


@bp.get(GRAPHQL_PATH)
def execute_query() -> Response:
    """Run a query from the query string; a browser asking for a page gets the explorer."""
    if current_app.config["GRAPHQL_EXPLORER"] and prefers_html(request):
        return explorer.page()
    media_type = negotiate()
    return run(check_operation(read_get_operation(request)), media_type, read_only=True)


def negotiate() -> str:
    """The response's media type; 406 when the client accepts neither JSON type."""
    media_type = response_media_type(request)
    if media_type is None:
        raise NotAcceptable(
            "Accept application/graphql-response+json or application/json to use this endpoint."
        )
    return media_type


def run(data: dict[str, Any], media_type: str, read_only: bool) -> Response:
    """Execute the operation and answer in the negotiated media type."""
    context = RequestContext(request=request, session=current_session())
    outcome = graphql_runtime.executor.execute(data, context, read_only)
    status = outcome.status_for(media_type == GRAPHQL_RESPONSE)
    return graphql_response(outcome.body, status, outcome.headers, media_type)
