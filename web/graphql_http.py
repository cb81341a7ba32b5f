"""GraphQL over HTTP: the endpoint's path, response media type negotiation, GET parameters.

Media types (GraphQL-over-HTTP spec): a client that lists
``application/graphql-response+json`` at least as high as ``application/json`` gets it
(Apollo Client 4 reads the errors of a non-200 answer only with that type); everyone else,
no Accept header and ``*/*`` included, gets ``application/json``; an Accept that admits
neither is 406.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec
from flask import Request, Response, request
from werkzeug.exceptions import BadRequest

from web.json_body import json_response

GRAPHQL_PATH = "/graphql"
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
HTML = "text/html"
MEDIA_TYPES = (JSON, GRAPHQL_RESPONSE)

_decoder = msgspec.json.Decoder()


def is_graphql_request() -> bool:
    """Whether the current request is for the GraphQL endpoint (its errors take its shape)."""
    return request.path == GRAPHQL_PATH


def _qualities(header: str) -> dict[str, float]:
    qualities: dict[str, float] = {}
    for item in header.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            media = media.lower()
            qualities[media] = max(quality, qualities.get(media, 0.0))
    return qualities


def _quality(qualities: dict[str, float], media: str) -> float:
    """The quality of the most specific Accept entry matching ``media``."""
    family = media.split("/", 1)[0] + "/*"
    for key in (media, family, "*/*"):
        if key in qualities:
            return qualities[key]
    return 0.0


def response_media_type(req: Request) -> str | None:
    """The media type to answer this GraphQL request with; None when Accept admits neither."""
    return media_type_for(req.environ.get("HTTP_ACCEPT", "").strip())


@lru_cache(maxsize=256)  # a client sends the same Accept on every request: parse it once
def media_type_for(header: str) -> str | None:
    """The response media type an Accept header value calls for; None when it admits neither."""
    if not header:
        return JSON
    qualities = _qualities(header)
    named = qualities.get(GRAPHQL_RESPONSE, 0.0)  # only when named: */* keeps the legacy type
    legacy = _quality(qualities, JSON)
    if named > 0 and named >= legacy:
        return GRAPHQL_RESPONSE
    if legacy > 0:
        return JSON
    return GRAPHQL_RESPONSE if _quality(qualities, GRAPHQL_RESPONSE) > 0 else None


def prefers_html(req: Request) -> bool:
    """Whether a browser asks for a page (text/html above any JSON type) rather than data."""
    qualities = _qualities(req.headers.get("Accept", ""))
    html = _quality(qualities, HTML)
    return html > 0 and html > max(_quality(qualities, media) for media in MEDIA_TYPES)


def graphql_response(
    body: Any, status: int, headers: dict[str, str] | None, media_type: str | None
) -> Response:
    """A GraphQL response in the negotiated media type (application/json when none fits)."""
    response = json_response(body, status, headers)
    if media_type == GRAPHQL_RESPONSE:
        response.mimetype = GRAPHQL_RESPONSE
    return response


def _json_parameter(req: Request, name: str) -> Any:
    raw = req.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return _decoder.decode(raw.encode())
    except msgspec.DecodeError:
        raise BadRequest(f"The '{name}' parameter is not valid JSON.") from None
    except RecursionError:  # msgspec refuses nesting deeper than the interpreter's stack
        raise BadRequest(f"The '{name}' parameter is nested too deeply.") from None


def read_get_operation(req: Request) -> dict[str, Any]:
    """The operation from a GET's query string: query, operationName, variables, extensions."""
    if any(len(req.args.getlist(name)) > 1 for name in req.args):
        raise BadRequest("Each parameter may be given once.")
    data: dict[str, Any] = {
        "variables": _json_parameter(req, "variables"),
        "extensions": _json_parameter(req, "extensions"),
    }
    for name in ("query", "operationName"):
        if name in req.args:
            data[name] = req.args[name]
    return data


def check_operation(data: dict[str, Any]) -> dict[str, Any]:
    """400 unless query, variables, operationName and extensions have their JSON types."""
    query = data.get("query")
    extensions = data.get("extensions")
    persisted = query is None and isinstance(extensions, dict) and "persistedQuery" in extensions
    if not persisted and (not isinstance(query, str) or not query.strip()):
        raise BadRequest("The 'query' field must be a non-empty string.")
    if not isinstance(data.get("variables") or {}, dict):
        raise BadRequest("The 'variables' field must be an object or null.")
    if not isinstance(data.get("operationName") or "", str):
        raise BadRequest("The 'operationName' field must be a string or null.")
    if not isinstance(data.get("extensions") or {}, dict):
        raise BadRequest("The 'extensions' field must be an object or null.")
    return data
