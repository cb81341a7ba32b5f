"""deploy/nginx.conf under connection floods, run for real on loopback ports.

Thousands of idle connections (more than the old worker_connections of 1024) leave room
for real clients, and one client address holding more requests in progress than
``limit_conn`` allows gets 429 while other clients are served. The upstream is a plain
HTTP server of the test's own: these are nginx's limits, not the app's.
"""

from __future__ import annotations

import resource
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.nginx import NGINX, BrowserClient, Proxy, nginx
from tests.redis_servers import require_binary
from tests.tls import OPENSSL, self_signed_certificate

pytestmark = pytest.mark.timeout(120)
IDLE_CONNECTIONS = 3000  # the flood was 2,200; the old limit was 1024 per worker
PER_CLIENT = 100  # limit_conn per_client in deploy/nginx.conf
GREEDY, OTHER = "127.0.0.3", "127.0.0.2"  # client addresses (nginx's own is 127.0.0.1)
HELD_REQUEST = (
    b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000\r\n\r\n"
)  # the header only: nginx waits for the body, with the request in progress


class _Upstream(BaseHTTPRequestHandler):
    """Answers every GET with a small JSON body."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """200 with a JSON body."""
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def descriptors() -> Iterator[None]:
    """Room for the flood in this process and in the nginx it starts (which inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = IDLE_CONNECTIONS + 2 * PER_CLIENT + 512
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"ulimit -Hn is {hard}; the flood needs {needed} descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture(scope="module")
def proxy(descriptors: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """deploy/nginx.conf in front of a plain HTTP upstream."""
    require_binary(NGINX, "nginx")
    require_binary(OPENSSL, "openssl")
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = int(upstream.server_address[1])
    certificate = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    try:
        with nginx([port, port], certificate, tmp_path_factory.mktemp("nginx")) as running:
            yield running
    finally:
        upstream.shutdown()
        upstream.server_close()


@contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` TCP connections to ``port`` that never send a byte."""
    with ExitStack() as stack:
        yield [
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
            for _ in range(count)
        ]


def still_open(sock: socket.socket) -> bool:
    """Whether the peer has neither closed nor reset a connection we never wrote to."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True  # nothing to read: open and idle
    except OSError:
        return False  # reset


def held_request(proxy: Proxy, source: str) -> ssl.SSLSocket:
    """A TLS connection from ``source`` with a request nginx is processing (body pending)."""
    context = ssl.create_default_context(cafile=str(proxy.certificate.cert))
    raw = socket.create_connection(
        ("127.0.0.1", proxy.https_port), timeout=10, source_address=(source, 0)
    )
    conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
    conn.sendall(HELD_REQUEST)
    return conn


def answered(connections: list[ssl.SSLSocket], count: int) -> list[bytes]:
    """The status lines of the first ``count`` connections nginx answers (10 s at most).

    Polled without blocking rather than with select(): TLS 1.3 session tickets make a
    socket readable with no response to read.
    """
    for conn in connections:
        conn.setblocking(False)
    lines: dict[int, bytes] = {}
    deadline = time.monotonic() + 10
    while len(lines) < count and time.monotonic() < deadline:
        for i, conn in enumerate(connections):
            try:
                if i not in lines:
                    lines[i] = conn.recv(4096).split(b"\r\n", 1)[0]
            except ssl.SSLWantReadError:
                pass  # nothing yet
        time.sleep(0.05)
    return list(lines.values())


def test_thousands_of_idle_connections_leave_room_for_real_clients(proxy: Proxy) -> None:
    with idle_connections(proxy.https_port, IDLE_CONNECTIONS) as idle:
        status, _, body = BrowserClient(proxy, source=OTHER).request("GET", "/healthz")
        assert (status, body) == (200, b'{"ok": true}')
        assert all(still_open(sock) for sock in idle)  # none dropped to make room
    log = (proxy.directory / "error.log").read_text()
    assert "worker_connections are not enough" not in log


def test_one_client_over_its_limit_gets_429_and_others_are_served(proxy: Proxy) -> None:
    extra = 3
    with ExitStack() as stack:
        held = [stack.enter_context(held_request(proxy, GREEDY)) for _ in range(PER_CLIENT + extra)]
        refusals = answered(held, extra)
        assert refusals == [b"HTTP/1.1 429 Too Many Requests"] * extra
        assert BrowserClient(proxy, source=OTHER).request("GET", "/healthz")[0] == 200
        assert BrowserClient(proxy, source=GREEDY).request("GET", "/healthz")[0] == 429
    # closed: nginx ends those requests and the client is served again
    deadline = time.monotonic() + 10
    while BrowserClient(proxy, source=GREEDY).request("GET", "/healthz")[0] != 200:
        assert time.monotonic() < deadline, "the client stayed refused after closing"
        time.sleep(0.1)
