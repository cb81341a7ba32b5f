"""Real server processes for tests: gunicorn on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server process and where to reach it."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace")


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Poll ``url`` until it answers; fail early if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if the process does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def gunicorn(
    env: dict[str, str], tmp_path: Path, *args: str, drop: tuple[str, ...] = ()
) -> Iterator[Server]:
    """Run ``gunicorn -c gunicorn.conf.py wsgi:app`` on a free port with ``env`` added.

    ``drop`` names inherited environment variables to remove first.
    """
    port = free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
    inherited = {k: v for k, v in os.environ.items() if k not in drop}
    full_env = {**inherited, "GUNICORN_BIND": f"127.0.0.1:{port}", **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [GUNICORN, "-c", "gunicorn.conf.py", *args, "wsgi:app"],
            cwd=PROJECT_DIR,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_until_up(server.base_url + "/healthz", process)
        yield server
    except Exception:
        print(server.log())
        raise
    finally:
        stop(process)


def gone(pid: int, timeout: float = 20) -> bool:
    """Whether the process ends (or is left a zombie) within ``timeout`` seconds."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


def remember_cookies(jar: dict[str, str], set_cookie_headers: list[str]) -> None:
    """Update a name -> value jar from Set-Cookie headers; an empty value deletes."""
    for header in set_cookie_headers:
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        if value:
            jar[name] = value
        else:
            jar.pop(name, None)


class HttpClient:
    """A tiny HTTP client with a cookie jar, as curl -b/-c would be."""

    def __init__(self, base_url: str, timeout: float = 10) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send a request; returns status, headers and body, and keeps cookies."""
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        req = urllib.request.Request(self.base_url + path, body, all_headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                status, got, data = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, data = error.code, error.headers, error.read()
        remember_cookies(self.cookies, got.get_all("Set-Cookie") or [])
        return status, dict(got.items()), data

    def graphql(self, query: str, **variables: object) -> tuple[int, dict[str, Any]]:
        """POST a GraphQL operation as JSON; returns status and decoded body."""
        import json

        body = json.dumps({"query": query, "variables": variables}).encode()
        status, _, data = self.request(
            "POST", "/graphql", body, {"Content-Type": "application/json"}
        )
        return status, json.loads(data)


def wait_for_workers(master_pid: int, count: int, timeout: float = 30) -> list[int]:
    """The pids of the master's workers, once ``count`` of them are running."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = psutil.Process(master_pid).children()
        if len(children) >= count:
            return [child.pid for child in children]
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn did not start {count} workers")


def gunicorn_refusal(env: dict[str, str]) -> tuple[int, str]:
    """Start gunicorn in production with ``env`` added, expecting it to refuse to start.

    Returns its exit code and everything it printed.
    """
    full_env = {**os.environ, "APP_ENV": "production", "GUNICORN_BIND": "127.0.0.1:0", **env}
    result = subprocess.run(
        [GUNICORN, "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=PROJECT_DIR,
        env=full_env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).decode(errors="replace")
