"""Run deploy/nginx.conf for real: ports, paths and certificate swapped for test ones.

Each swap names the exact text of the example it replaces, and fails if that text is gone,
so the test keeps checking the file a reader would copy.
"""

from __future__ import annotations

import getpass
import http.client
import json
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import PROJECT_DIR, free_port, remember_cookies, stop
from tests.support.clients import with_cookies
from tests.tls import Certificate

NGINX = "/usr/sbin/nginx"
EXAMPLE = PROJECT_DIR / "deploy" / "nginx.conf"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass(frozen=True)
class Proxy:
    """A running nginx: its HTTPS and plain HTTP ports and the certificate it serves."""

    https_port: int
    http_port: int
    certificate: Certificate
    directory: Path


def render(
    upstreams: list[int], https_port: int, http_port: int, cert: Certificate, root: Path
) -> str:
    """The example with this test's ports, certificate, pid, logs and temp directories."""
    temp = "".join(f"    {name}_temp_path {root / name};\n" for name in TEMP_PATHS)
    swaps = {
        "user www-data;": f"user {getpass.getuser()};",
        "pid /run/nginx.pid;": f"pid {root / 'nginx.pid'};",
        "/var/log/nginx/error.log": str(root / "error.log"),
        "/var/log/nginx/access.log": str(root / "access.log"),
        "http {\n": "http {\n" + temp,
        "server 127.0.0.1:4001 ": f"server 127.0.0.1:{upstreams[0]} ",
        "server 127.0.0.1:4002 ": f"server 127.0.0.1:{upstreams[1]} ",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "/etc/ssl/certs/sessions.example.com.pem": str(cert.cert),
        "/etc/ssl/private/sessions.example.com.key": str(cert.key),
    }
    text = EXAMPLE.read_text()
    for old, new in swaps.items():
        assert text.count(old) == 1, f"deploy/nginx.conf no longer has {old!r} exactly once"
        text = text.replace(old, new)
    return text


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def nginx(upstreams: list[int], certificate: Certificate, root: Path) -> Iterator[Proxy]:
    """Start nginx in the foreground on free loopback ports; stop it after."""
    root.mkdir(parents=True, exist_ok=True)
    proxy = Proxy(free_port(), free_port(), certificate, root)
    config = root / "nginx.conf"
    config.write_text(render(upstreams, proxy.https_port, proxy.http_port, certificate, root))
    command = [NGINX, "-c", str(config), "-p", str(root), "-e", str(root / "startup.log")]
    subprocess.run([*command, "-t", "-q"], check=True, capture_output=True, timeout=30)
    process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not _listening(proxy.https_port):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "nginx did not listen within 15 s"
            time.sleep(0.05)
        yield proxy
    finally:
        stop(process)
        if process.stderr:
            process.stderr.close()


@dataclass
class BrowserClient:
    """HTTPS to the proxy from a chosen loopback address, with a cookie jar."""

    proxy: Proxy
    source: str = "127.0.0.2"  # not nginx's own 127.0.0.1: the app must see this address
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request on a fresh connection; keeps the cookies it is given."""
        context = ssl.create_default_context(cafile=str(self.proxy.certificate.cert))
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.proxy.https_port, timeout=10, context=context,
            source_address=(self.source, 0),
        )  # fmt: skip
        all_headers = with_cookies(headers, self.cookies)
        try:
            conn.request(method, path, body, all_headers)
            response = conn.getresponse()
            status, got, data = response.status, response.headers, response.read()
        finally:
            conn.close()
        remember_cookies(self.cookies, got.get_all("Set-Cookie") or [])
        return status, got, data

    def graphql(
        self, query: str, headers: dict[str, str] | None = None, **variables: Any
    ) -> tuple[int, http.client.HTTPMessage, Any]:
        """POST an operation; returns status, headers and the decoded body."""
        body = json.dumps({"query": query, "variables": variables}).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        status, got, data = self.request("POST", "/graphql", body, all_headers)
        return status, got, json.loads(data)
