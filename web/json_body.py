"""JSON in and out of HTTP: one encoder for every response, strict request parsing."""

from __future__ import annotations

from typing import Any

import msgspec
from flask import Request, Response
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(_encoder.encode(body), status, headers, mimetype="application/json")


def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 415 for other content types, 400 for bad JSON."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the request body as application/json.")
    try:
        body = _decoder.decode(request.get_data(cache=False))
    except msgspec.DecodeError:
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body
