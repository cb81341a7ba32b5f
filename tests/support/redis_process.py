"""A redis-server owned by one test (or one benchmark): start, stop, restart, pause, kill.

A real ``redis-server`` (or sentinel) on a free loopback port, with a config file in its own
directory, kept as a ``Popen`` so callers can shut it down, restart it (with or without its
data), SIGSTOP/SIGCONT or SIGKILL it, or reconfigure it. Extra config lines make replicas,
sentinels, cluster nodes, TLS or passwords (``tests/redis_servers.py`` builds those).
The shared server on 6379 is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.polling import free_port, wait_for

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisProcess:
    """A redis-server of the caller's own: start, shutdown, restart, pause, resume, kill."""

    def __init__(
        self,
        workdir: Path,
        prefix: tuple[str, ...] = (),
        *,
        port: int | None = None,
        lines: Sequence[str] = (),
        sentinel: bool = False,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        """``prefix`` goes before the command (``taskset -c 1``); ``lines`` are config lines
        after the defaults; ``client_options`` (TLS, password) reach every client made."""
        self.workdir = workdir
        self.prefix = prefix
        self.port = port or free_port()
        self.lines = list(lines)
        self.sentinel = sentinel
        self.client_options = client_options or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        """The redis:// URL the app connects with (plain servers)."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None
        return self.process.pid

    def client(self, **options: Any) -> redis.Redis:
        """A fresh admin client (its own connection, generous timeouts, no retries)."""
        options = {**self.client_options, **options}
        options.setdefault("socket_timeout", 5)
        options.setdefault("retry", Retry(NoBackoff(), 0))  # the default retries with backoff
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2, **options)

    def running(self) -> bool:
        """Whether the process is alive (it may be paused)."""
        return self.process is not None and self.process.poll() is None

    def database(self, db: int) -> redis.Redis:
        """A fresh client on database ``db``; the caller closes it."""
        return self.client(db=db)

    def config_lines(self) -> list[str]:
        """The config file: no persistence but an explicit save, a log file, then ``lines``."""
        return [
            "bind 127.0.0.1",
            f"port {self.port}",
            'save ""',
            "appendonly no",
            f"dir {self.workdir}",
            "dbfilename dump.rdb",
            f"logfile {self.workdir / 'redis.log'}",
            "enable-debug-command local",
            *self.lines,
        ]

    def command(self) -> list[str]:
        """redis-server on the config file, or redis-sentinel (else redis-server --sentinel)."""
        config = self.workdir / "redis.conf"
        if not self.sentinel:
            return [*self.prefix, REDIS_SERVER, str(config)]
        binary = shutil.which("redis-sentinel")
        tail = [binary, str(config)] if binary else [REDIS_SERVER, str(config), "--sentinel"]
        return [*self.prefix, *tail]

    def start(self) -> None:
        """Start the server; it loads dump.rdb from its directory if a save left one."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "redis.conf").write_text("\n".join(self.config_lines()) + "\n")
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self.paused = False
        wait_for(f"redis-server on port {self.port}", self._answers, 15)

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}")
        try:
            return bool(self.client(socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def log(self) -> str:
        """What the server logged."""
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

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

    def kill(self) -> None:
        """SIGKILL: the server dies with no chance to hand anything over."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def app_clients(self, name: str = "seed-service") -> list[dict[str, Any]]:
        """CLIENT LIST entries of connections the app opened (by client name)."""
        return [c for c in self.client().client_list() if c.get("name") == name]

    def close(self) -> None:
        """Kill the server if it still runs (resuming it first if paused)."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.paused:
            self.resume()
        self.kill()
