"""Slow clients (issue 12, defect 1): more connections trickling in a request than the server
has request threads must not stop normal requests.

Granian survives them on its own: it reads request headers in Rust, without a Python
thread, and closes a connection whose headers are not in within the header read timeout.
gunicorn does not (a thread per connection, blocked reading it); it must sit behind a
buffering proxy, and behind deploy/nginx.conf it survives them too. Slow request *bodies*
hold a thread under either server: see the README's deployment section.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ME, REGISTER
from tests.nginx import NGINX, BrowserClient, nginx
from tests.redis_servers import require_binary
from tests.support import HttpClient, RedisProcess, app_env, app_server
from tests.tls import OPENSSL, self_signed_certificate

pytestmark = pytest.mark.timeout(120)
SLOW = 40  # connections, against 2 workers x 2 request threads
PASSWORD = "correct horse"
Call = Callable[..., tuple[int, Any]]  # (query, **variables) -> status, decoded body


@contextmanager
def trickling(port: int, count: int, tls: ssl.SSLContext | None = None) -> Iterator[list[Any]]:
    """``count`` connections that each sent one byte of a request line, then nothing."""
    with ExitStack() as stack:
        connections = []
        for _ in range(count):
            sock: Any = stack.enter_context(socket.create_connection(("127.0.0.1", port), 10))
            if tls:
                sock = stack.enter_context(tls.wrap_socket(sock, server_hostname="127.0.0.1"))
            sock.sendall(b"P")
            connections.append(sock)
        # Give the server time to take the bytes in: bare gunicorn's threads are each stuck
        # in one of these connections by then, and every request below times out (measured).
        time.sleep(1)
        yield connections


def still_open(sock: Any) -> bool:
    """Whether the server has neither answered nor closed the connection yet."""
    sock.setblocking(False)
    try:
        return not sock.recv(1)
    except (BlockingIOError, ssl.SSLWantReadError):
        return True
    finally:
        sock.setblocking(True)


def assert_served(call: Call) -> None:
    """A registration, then anonymous and logged-in reads, all answered."""
    status, body = call(REGISTER, username="alice", password=PASSWORD)
    assert status == 200 and body["data"]["register"]["user"], body
    for _ in range(5):
        assert call("{ hello }") == (200, {"data": {"hello": "hello world"}})
        status, body = call(ME)
        assert status == 200 and body["data"]["me"]["username"] == "alice", body


def test_granian_answers_while_more_clients_trickle_than_it_has_threads(
    tmp_path: Path, private_redis: RedisProcess
) -> None:
    # a minute to send headers: the answers below cannot come from slow ones being dropped
    env = app_env(
        tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", private_redis.url, threads="2",
        GRANIAN_HEADER_READ_TIMEOUT_MS="60000",
    )  # fmt: skip
    with app_server("granian", env, tmp_path) as server, trickling(server.port, SLOW) as slow:
        assert_served(HttpClient(server.base_url, timeout=15).graphql)
        assert all(still_open(sock) for sock in slow)


def test_granian_closes_a_connection_that_does_not_send_its_headers(
    tmp_path: Path, private_redis: RedisProcess
) -> None:
    env = app_env(
        tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", private_redis.url,
        GRANIAN_HEADER_READ_TIMEOUT_MS="1000",
    )  # fmt: skip
    with (
        app_server("granian", env, tmp_path) as server,
        socket.create_connection(("127.0.0.1", server.port), 10) as silent,
        trickling(server.port, 1) as (one_byte,),
    ):
        for sock in (silent, one_byte):
            sock.settimeout(30)  # generous: the server closes after about 1 s
            reply = sock.recv(100)
            assert reply == b"" or reply.startswith(b"HTTP/1.1 408"), reply


def test_gunicorn_behind_deploy_nginx_answers_while_clients_trickle(
    tmp_path: Path, private_redis: RedisProcess
) -> None:
    require_binary(NGINX, "nginx")
    require_binary(OPENSSL, "openssl")
    certificate = self_signed_certificate(tmp_path / "tls")
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", private_redis.url, threads="2")
    with (
        app_server("gunicorn", env, tmp_path) as server,
        nginx([server.port, server.port], certificate, tmp_path / "nginx") as proxy,
    ):
        tls = ssl.create_default_context(cafile=str(certificate.cert))
        with trickling(proxy.https_port, SLOW, tls) as slow:
            browser = BrowserClient(proxy)
            assert_served(lambda query, **variables: browser.graphql(query, **variables)[::2])
            assert all(still_open(sock) for sock in slow)
