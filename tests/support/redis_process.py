"""A redis-server owned by one test (or one benchmark): start, stop, restart, pause, resume.

A real ``redis-server`` on a free loopback port in its own directory, kept as a ``Popen``
so callers can shut it down, restart it (with or without its data), SIGSTOP/SIGCONT it or
reconfigure it. The shared server on 6379 is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.polling import free_port, wait_for

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisProcess:
    """A redis-server owned by one test: start, stop, restart, pause, resume."""

    def __init__(self, workdir: Path, prefix: tuple[str, ...] = ()) -> None:
        """``prefix`` goes before the command (``taskset -c 1``, for a benchmark)."""
        self.workdir = workdir
        self.prefix = prefix
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        """The redis:// URL the app connects with."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None
        return self.process.pid

    def client(self, **options: Any) -> redis.Redis:
        """A fresh admin client (its own connection, generous timeouts)."""
        options.setdefault("socket_timeout", 5)
        options.setdefault("retry", Retry(NoBackoff(), 0))  # the default retries with backoff
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2, **options)

    def start(self) -> None:
        """Start the server; it loads dump.rdb from its directory if a save left one."""
        args = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--dbfilename",
            "dump.rdb",
            "--logfile",
            str(self.workdir / "redis.log"),
            "--enable-debug-command",
            "local",
        ]
        self.process = subprocess.Popen(
            [*self.prefix, *args], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self.paused = False
        wait_for(f"redis-server on port {self.port}", self._answers, 10)

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}")
        try:
            return bool(self.client(socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def shutdown(self, save: bool = False) -> None:
        """Stop the server; with ``save`` its data is written so a restart keeps it."""
        assert self.process is not None
        if not save:
            (self.workdir / "dump.rdb").unlink(missing_ok=True)
        with suppress(redis.ConnectionError):  # the server closes the connection as it exits
            self.client().shutdown(save=save, nosave=not save)
        self.process.wait(10)

    def restart(self, keep_data: bool = True) -> None:
        """Stop and start again on the same port."""
        self.shutdown(save=keep_data)
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing ever answers."""
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT after ``pause``."""
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def app_clients(self, name: str = "seed-service") -> list[dict[str, Any]]:
        """CLIENT LIST entries of connections the app opened (by client name)."""
        return [c for c in self.client().client_list() if c.get("name") == name]

    def close(self) -> None:
        """Kill the server if it still runs (resuming it first if paused)."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.paused:
            self.resume()
        self.process.kill()
        self.process.wait(10)
