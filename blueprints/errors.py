"""Error handlers: every error leaves as JSON; outages become a fast 503.

REST errors are ``{"error": {code, message, requestId}}``; errors of the GraphQL endpoint,
HTTP-level ones included (bad JSON, 403, 413, 415, 429, 503), are ``{"errors": [...]}`` in
the media type the client negotiated, so GraphQL clients can read every failure.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, InternalServerError

from infra.logs import current_request_id
from services.errors import (
    OUTAGES,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    count_outage,
    is_outage,
)
from sessions.store import SessionInterrupted
from web.graphql_http import graphql_response, is_graphql_request, response_media_type
from web.json_body import json_response

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "1"


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The shape every REST error takes."""
    body = {"code": code, "message": message}
    request_id = current_request_id("")
    if request_id:
        body["requestId"] = request_id
    return {"error": body}


def graphql_error_body(code: str, message: str) -> dict[str, list[dict[str, object]]]:
    """The shape every error of the GraphQL endpoint takes."""
    extensions = {"code": code}
    request_id = current_request_id("")
    if request_id:
        extensions["requestId"] = request_id
    return {"errors": [{"message": message, "extensions": extensions}]}


def error_response(code: str, message: str, status: int) -> Response:
    """An error in the shape of the endpoint that failed: GraphQL's, or REST's."""
    if is_graphql_request():
        body = graphql_error_body(code, message)
        return graphql_response(body, status, None, response_media_type(request))
    return json_response(error_body(code, message), status)


def handle_http_error(error: HTTPException) -> Response:
    """Werkzeug's HTTP errors (400, 404, 405, 413, 415 ...) as JSON."""
    code = (error.name or "error").upper().replace(" ", "_")
    response = error_response(code, error.description or "", error.code or 500)
    if error.code == 405 and error.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return response


def handle_service_error(error: ServiceError) -> Response:
    """A refusal from the service layer, with its status."""
    response = error_response(error.code, error.message, error.status)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    elif error.status == 503:
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def handle_outage(error: Exception) -> Response:
    """Redis or the database is unreachable: 503 with Retry-After, no details."""
    log.warning("backing service unavailable: %r", error)
    count_outage(error)
    return handle_service_error(ServiceUnavailable())


def handle_internal_error(error: InternalServerError) -> Response:
    """Unhandled exceptions, including session load/save failures outside the views."""
    original = error.original_exception
    if is_outage(original):
        return handle_outage(original)
    if isinstance(original, SessionInterrupted):
        message = "The session ended (logout or revocation) while this request was running."
        return error_response("SESSION_ENDED", message, 409)
    log.error("unhandled error [request %s]", current_request_id(), exc_info=original)
    return error_response("INTERNAL_SERVER_ERROR", "Internal server error", 500)


def register_error_handlers(app: Flask) -> None:
    """Attach the JSON error handlers to the app."""
    app.register_error_handler(InternalServerError, handle_internal_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(ServiceError, handle_service_error)
    for outage in OUTAGES:
        app.register_error_handler(outage, handle_outage)
