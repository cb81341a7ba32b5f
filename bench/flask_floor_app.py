"""The Flask floor: floor_app's handlers behind two plain Flask routes, nothing else.

Same I/O and the same JSON as the floor, with Flask's request handling (request context,
URL matching, cookie parsing, response object) in between, under the same gunicorn worker:
the best any Flask app could do on each workload. No hooks, no extensions. Started from
bench/, like the floor, so floor_app imports as a top-level module.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from floor_app import _handler, _json_in, _json_out, rest_me

app = Flask(__name__)


def _json(result: Any) -> Response:
    """A handler's result as a JSON response."""
    return Response(_json_out.encode(result), mimetype="application/json")


@app.post("/graphql")
def graphql() -> Response:
    """One of the benchmark's GraphQL bodies, dispatched on its query text."""
    body = _json_in.decode(request.get_data())
    return _json(_handler(body["query"])(body, request.cookies.get("qid")))


@app.get("/me")
def me() -> Response:
    """REST GET /me: the session and its user."""
    return _json(rest_me(request.cookies.get("qid")))
