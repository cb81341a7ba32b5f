"""Request ids: every request gets one, echoed in X-Request-Id and carried by the logs."""

from __future__ import annotations

import random
import re

from flask import Flask, Response, g, request

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def assign_request_id() -> None:
    """Take the client's X-Request-Id if it is sane, else make one."""
    incoming = request.environ.get("HTTP_X_REQUEST_ID")
    g.request_id = incoming if incoming and REQUEST_ID.fullmatch(incoming) else new_request_id()


def new_request_id() -> str:
    """16 hex digits, unique in practice; not a secret (clients may choose their own), so
    from the fast generator, which each worker reseeds after fork, not os.urandom."""
    return f"{random.getrandbits(64):016x}"


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
