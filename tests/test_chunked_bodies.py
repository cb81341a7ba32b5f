"""Bodies without Content-Length, sent straight to a real gunicorn as raw bytes.

gunicorn passes a chunked body to the app as a stream it ends itself (wsgi.input_terminated);
werkzeug then cut one longer than MAX_CONTENT_LENGTH silently at the limit (100 KB chunked
got 200 where the same body with Content-Length got 413), and gunicorn's InvalidChunkSize
from a malformed chunk reached the view as a 500.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.processes import Server, gunicorn
from tests.support import app_env

pytestmark = pytest.mark.timeout(120)
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Server]:
    """One gunicorn worker on the test Redis and a fresh SQLite database."""
    tmp_path = tmp_path_factory.mktemp("chunked")
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", redis_url, workers="1")
    with gunicorn(env, tmp_path) as running:
        yield running


def exchange(server: Server, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send a raw request; the status, headers and body of the response."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            sock.sendall(head + body)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered (413) and closed before the body was all sent
            pass
        received = _read_until_closed(sock)
    header_block, _, payload = received.partition(b"\r\n\r\n")
    status_line, *lines = header_block.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, payload


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sent before closing (a reset after its answer ends the read)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def chunked_head(extra: str = "") -> bytes:
    return (
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\nConnection: close\r\n{extra}\r\n"
    ).encode()


def chunked(data: bytes, size: int = 4096) -> bytes:
    """``data`` in chunks of ``size`` bytes, with the last chunk."""
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def operation(padding: int) -> bytes:
    """A { hello } operation padded with spaces to ``padding`` more bytes."""
    return json.dumps({"query": "{ hello }"}).encode() + b" " * padding


def assert_json_error(response: tuple[int, dict[str, str], bytes], status: int) -> None:
    got, headers, payload = response
    assert got == status, payload[:300]
    assert headers["content-type"] == "application/json"
    assert json.loads(payload)["errors"][0]["extensions"]["code"]  # the GraphQL shape


def test_a_small_chunked_operation_runs(server: Server) -> None:
    status, _, payload = exchange(server, chunked_head(), chunked(operation(10)))
    assert status == 200 and json.loads(payload) == {"data": {"hello": "hello world"}}


def test_a_chunked_operation_at_the_limit_runs(server: Server) -> None:
    body = operation(0)
    status, _, _ = exchange(server, chunked_head(), chunked(operation(LIMIT - len(body))))
    assert status == 200


def test_a_chunked_body_past_the_limit_is_413_as_with_content_length(server: Server) -> None:
    body = operation(100 * 1024)
    assert_json_error(exchange(server, chunked_head(), chunked(body)), 413)
    head = (
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert_json_error(exchange(server, head, body), 413)


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # chunk size that is not hexadecimal
        b"2\r\n{}XX0\r\n\r\n",  # chunk without its CRLF
        b"ff\r\n{}\r\n",  # fewer bytes than announced, then the end
    ],
)
def test_malformed_chunks_are_400_json(server: Server, body: bytes) -> None:
    assert_json_error(exchange(server, chunked_head(), body), 400)


def test_deeply_nested_json_through_gunicorn_is_400(server: Server) -> None:
    body = b"[" * 1000 + b"]" * 1000
    assert_json_error(exchange(server, chunked_head(), chunked(body)), 400)
    assert "Traceback" not in server.log()
