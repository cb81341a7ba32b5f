"""Request bodies read in-process, as the WSGI servers hand them over: a chunked body (no
Content-Length, ``wsgi.input_terminated``) is read no further than the limit, broken framing
is a 400, and JSON nested past the interpreter's stack a 400 (the real servers' tests are in
test_chunked_bodies.py)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Request
from gunicorn.http.errors import InvalidChunkSize
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.test import EnvironBuilder

from web.json_body import read_body, read_json_object

LIMIT = 64


class BrokenChunks(io.RawIOBase):
    """A WSGI input whose chunked framing turns out malformed on the first read."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise InvalidChunkSize(b"zz")


def chunked_request(stream: io.IOBase, limit: int = LIMIT) -> Request:
    """A JSON POST with no Content-Length whose server says it ends the input itself."""
    environ = EnvironBuilder(method="POST", content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True})
    request = Request(environ)
    request.max_content_length = limit
    return request


def test_a_chunked_body_within_the_limit_is_read_whole() -> None:
    body = b'{"query": "{ hello }"}'
    assert read_json_object(chunked_request(io.BytesIO(body))) == {"query": "{ hello }"}


def test_a_chunked_body_exactly_at_the_limit_is_read() -> None:
    body = b"x" * LIMIT
    assert read_body(chunked_request(io.BytesIO(body))) == body


def test_a_chunked_body_past_the_limit_is_413_without_reading_it_all() -> None:
    stream = io.BytesIO(b"x" * (10 * LIMIT))
    with pytest.raises(RequestEntityTooLarge):
        read_body(chunked_request(stream))
    assert stream.tell() == LIMIT + 1  # one byte past the limit tells, no more is read


def test_malformed_chunked_framing_is_a_400() -> None:
    with pytest.raises(BadRequest, match="malformed"):
        read_body(chunked_request(BrokenChunks()))


def test_json_nested_past_the_stack_is_a_400_not_a_crash() -> None:
    depth = 100_000
    body = b"[" * depth + b"]" * depth
    environ = EnvironBuilder(method="POST", data=body, content_type="application/json")
    request = Request(environ.get_environ())
    request.max_content_length = len(body)
    with pytest.raises(BadRequest, match="nested too deeply"):
        read_json_object(request)
