"""The product under a real server, gunicorn or Granian, on a free loopback port.

``app_server(kind, env, workdir)`` runs ``gunicorn -c gunicorn.conf.py wsgi:app`` or
``python -m granian_server`` with the caller's environment added, waits until it answers,
and stops it (SIGTERM) after. ``app_env`` builds that environment once for every caller.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.support.polling import free_port, wait_for

PROJECT_DIR = Path(__file__).resolve().parents[2]
SERVERS = ("gunicorn", "granian")
COMMANDS = {
    "gunicorn": [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"],
    "granian": [sys.executable, "-m", "granian_server"],
}
TARGETS = {"gunicorn": ["wsgi:app"], "granian": []}  # granian_server names its own
CHEAP_ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024", "ARGON2_PARALLELISM": "1"}


@dataclass
class Server:
    """A running server process and where to reach it."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    kind: str = "gunicorn"

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.base_url.rsplit(":", 1)[1])

    def log(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def workers(self, count: int, timeout: float = 30) -> list[int]:
        """The pids of the master's workers, once ``count`` of them are running."""
        return worker_pids(self.process.pid, count, timeout)


def app_env(
    workdir: Path,
    database_url: str,
    redis_url: str,
    workers: str = "2",
    threads: str = "4",
    **extra: str,
) -> dict[str, str]:
    """Environment for either server on the given services: cheap argon2, ``workers``
    processes of ``threads`` request threads; ``extra`` (variables) last."""
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(workdir / "instance"),
        **CHEAP_ARGON2,
        "WEB_CONCURRENCY": workers,
        "GUNICORN_THREADS": threads,
        "GRANIAN_BLOCKING_THREADS": threads,
    }
    return {**env, **extra}


def server_command(kind: str, *args: str) -> list[str]:
    """The command line that starts ``kind`` on the product, ``args`` before the target."""
    return [*COMMANDS[kind], *args, *TARGETS[kind]]


def full_env(env: dict[str, str], bind: str, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment without ``drop``, the bind address for both servers, ``env``."""
    inherited = {k: v for k, v in os.environ.items() if k not in drop}
    return {**inherited, "GUNICORN_BIND": bind, "GRANIAN_BIND": bind, **env}


@contextmanager
def app_server(
    kind: str, env: dict[str, str], workdir: Path, *args: str, drop: tuple[str, ...] = ()
) -> Iterator[Server]:
    """Run the product under ``kind`` on a free port with ``env`` added; stop it after.

    ``drop`` names inherited environment variables to remove first; ``args`` are extra
    command-line options (gunicorn's, e.g. ``--preload``).
    """
    port = free_port()
    log_path = workdir / f"{kind}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            server_command(kind, *args),
            cwd=PROJECT_DIR,
            env=full_env(env, f"127.0.0.1:{port}", drop),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path, kind)
    try:
        wait_until_up(server.base_url + "/healthz", process)
        yield server
    except Exception:
        print(server.log())
        raise
    finally:
        stop(process)


def refusal(kind: str, env: dict[str, str]) -> tuple[int, str]:
    """Start ``kind`` in production with ``env`` added, expecting it to refuse to start.

    Returns its exit code and everything it printed.
    """
    result = subprocess.run(
        server_command(kind),
        cwd=PROJECT_DIR,
        env=full_env({"APP_ENV": "production", **env}, "127.0.0.1:0"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).decode(errors="replace")


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Poll ``url`` until it answers (any status); fail early if the process dies."""

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    wait_for(f"{url} answering", answers, timeout, interval=0.1)


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if the process does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def gone(pid: int, timeout: float = 20) -> bool:
    """Whether the process ends (or is left a zombie) within ``timeout`` seconds."""

    def ended() -> bool:
        if not psutil.pid_exists(pid):
            return True
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    try:
        wait_for(f"process {pid} to end", ended, timeout, interval=0.1)
    except TimeoutError:
        return False
    return True


def children(master_pid: int) -> list[int]:
    """The master's worker processes (not the embedded Redis it may have started)."""
    return [
        child.pid for child in psutil.Process(master_pid).children() if "redis" not in child.name()
    ]


def worker_pids(master_pid: int, count: int, timeout: float = 30) -> list[int]:
    """The pids of a master's workers, once ``count`` of them are running."""
    found: list[int] = []

    def enough() -> bool:
        found[:] = children(master_pid)
        return len(found) >= count

    wait_for(f"{count} workers", enough, timeout, interval=0.1)
    return found


def wait_for_replacement(master: int, workers: list[int], timeout: float = 30) -> int:
    """The pid of the worker the master starts in place of a killed one of ``workers``."""
    new: list[int] = []

    def replaced() -> bool:
        now = children(master)
        new[:] = [pid for pid in now if pid not in workers]
        return len(now) == len(workers) and len(new) == 1

    wait_for("a replacement worker", replaced, timeout)
    return new[0]
