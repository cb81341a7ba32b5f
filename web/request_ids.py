"""Request ids: every request gets one, echoed in X-Request-Id and carried by the logs."""

from __future__ import annotations

import re
import secrets

from flask import Flask, Response, g, request

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def assign_request_id() -> None:
    """Take the client's X-Request-Id if it is sane, else make one."""
    incoming = request.environ.get("HTTP_X_REQUEST_ID")
    g.request_id = incoming if incoming and REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)


def echo_request_id(response: Response) -> Response:
    """Send the request's id back in X-Request-Id."""
    request_id = g.get("request_id")
    if request_id is not None:
        response.headers["X-Request-Id"] = request_id
    return response


def init_app(app: Flask) -> None:
    """Give every request of the app an id."""
    app.before_request(assign_request_id)
    app.after_request(echo_request_id)
