"""The product's response class (web/response.py): Werkzeug's bodies, as lists when in memory.

Flask's own Response is the oracle: for every kind of body, status and method, the bytes
the server receives are the same; close callbacks still run; and a body in memory with
nothing to close is handed over as a list (Granian's one-call path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import flask
import pytest
from werkzeug.test import create_environ

from web.response import Response

BODIES: dict[str, Callable[[], Any]] = {
    "bytes": lambda: b'{"data":{"hello":"hi"}}',
    "text": lambda: "caf\u00e9",
    "list": lambda: [b"a", "\u00e9", b"c"],
    "generator": lambda: (chunk for chunk in [b"x", b"y"]),
    "empty": lambda: b"",
}
STATUSES = [200, 201, 204, 304, 101, 404, 503]


def served(response: flask.Response, method: str) -> tuple[bytes, Iterable[bytes]]:
    """The bytes a server would send, and the iterable it was given (closed as servers do)."""
    app_iter, _status, _headers = response.get_wsgi_response(create_environ(method=method))
    try:
        return b"".join(app_iter), app_iter
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("body", sorted(BODIES))
def test_the_bytes_are_werkzeugs(body: str, status: int, method: str) -> None:
    ours, theirs = Response(BODIES[body](), status), flask.Response(BODIES[body](), status)
    assert served(ours, method)[0] == served(theirs, method)[0]


@pytest.mark.parametrize("body", ["bytes", "text", "list", "empty"])
def test_a_body_in_memory_goes_out_as_a_list(body: str) -> None:
    sent, given = served(Response(BODIES[body]()), "GET")
    assert type(given) is list and b"".join(given) == sent


def test_a_streamed_body_keeps_werkzeugs_iterator() -> None:
    sent, given = served(Response(BODIES["generator"]()), "GET")
    assert sent == b"xy" and not isinstance(given, list)


def test_close_callbacks_still_run() -> None:
    closed: list[str] = []
    response = Response(b"body")
    response.call_on_close(lambda: closed.append("closed"))
    sent, given = served(response, "GET")
    assert sent == b"body" and not isinstance(given, list) and closed == ["closed"]


def test_a_body_that_closes_itself_is_closed() -> None:
    class Closing(Iterator[bytes]):
        closed = False

        def __init__(self) -> None:
            self.chunks = iter([b"c"])

        def __next__(self) -> bytes:
            return next(self.chunks)

        def close(self) -> None:
            self.closed = True

    body = Closing()
    assert served(Response(body), "GET")[0] == b"c" and body.closed


def test_the_app_answers_with_it(client: flask.testing.FlaskClient) -> None:
    response = client.post("/graphql", json={"query": "{ hello }"})
    assert response.status_code == 200 and response.get_json()["data"]["hello"]
    assert client.application.response_class is Response
