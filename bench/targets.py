"""The Python servers under test, each pinned to one core: the product and the floors.

Every Python target runs under one of two servers with one worker process: gunicorn (the
default deployment) or Granian (the Rust HTTP server, WSGI interface), with the settings the
product deploys with (gunicorn.conf.py, granian_server.py). The Node peer is in bench/peer.py.
"""

from __future__ import annotations

import os
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import psutil

from bench.client import Client, gql_body, wait_until_up
from bench.services import project_dir
from serving import MADE_DIR
from tests.support import free_port
from tests.support.app_servers import full_env, server_command

PROJECT = project_dir()
BIN = Path(sys.executable).parent
USERNAME, PASSWORD = "bench", "benchpass"
SEED_POSTS = 20
LOGIN_QUERY = (
    "mutation Login($options: UsernamePasswordInput!) "
    "{ login(options: $options) { errors { field message } user { id username } } }"
)
REGISTER_QUERY = (
    "mutation Register($options: UsernamePasswordInput!) "
    "{ register(options: $options) { errors { field message } user { id username } } }"
)
CREATE_POST_QUERY = 'mutation { createPost(title: "bench post") { id title } }'
SEED_POST_QUERY = "mutation Seed($title: String!) { createPost(title: $title) { id } }"


def settings_module(name: str) -> dict[str, Any]:
    """The globals of a server's settings module, with what it did to the environment undone.

    gunicorn.conf.py prepares a metrics directory for its workers when it runs: left in
    this process's environment, every server started afterwards would share it, and the
    first to exit would remove it under the others.
    """
    before = dict(os.environ)
    try:
        return runpy.run_path(str(PROJECT / name))
    finally:
        made = os.environ.get(MADE_DIR)
        if made and made != before.get(MADE_DIR):
            shutil.rmtree(made, ignore_errors=True)
        os.environ.clear()
        os.environ.update(before)


@dataclass(frozen=True)
class GunicornSettings:
    """gunicorn's worker settings: the product's gunicorn.conf.py, with the run's overrides."""

    worker_class: str
    threads: int
    keepalive: int = 5

    @classmethod
    def from_product(cls, worker_class: str | None, threads: int | None) -> GunicornSettings:
        """gunicorn.conf.py's defaults, overridden where given."""
        conf = settings_module("gunicorn.conf.py")
        return cls(
            worker_class or str(conf["worker_class"]),
            threads or int(conf["threads"]),
            int(conf["keepalive"]),
        )

    def env(self) -> dict[str, str]:
        """The environment gunicorn.conf.py reads these from."""
        return {"GUNICORN_WORKER_CLASS": self.worker_class, "GUNICORN_THREADS": str(self.threads)}

    def args(self, port: int) -> list[str]:
        """gunicorn's command line without a config file (the floors)."""
        args = [str(BIN / "gunicorn"), "-w", "1", "-k", self.worker_class]
        args += ["--threads", str(self.threads), "--keep-alive", str(self.keepalive)]
        return [*args, "-b", f"127.0.0.1:{port}"]

    def __str__(self) -> str:
        return f"gunicorn {self.worker_class} x{self.threads} threads"


@dataclass(frozen=True)
class GranianSettings:
    """Granian's settings: the product's granian_server.py, with the run's overrides."""

    blocking_threads: int
    backpressure: int
    runtime_threads: int
    runtime_mode: str

    @classmethod
    def from_product(cls, blocking_threads: int | None) -> GranianSettings:
        """granian_server.py's defaults, overridden where given."""
        product = settings_module("granian_server.py")["read_settings"]({})
        return cls(
            blocking_threads or product.shared.threads,
            product.backpressure,
            product.runtime_threads,
            str(product.runtime_mode.value),
        )

    def env(self) -> dict[str, str]:
        """The environment granian_server.py reads these from."""
        return {
            "GRANIAN_BLOCKING_THREADS": str(self.blocking_threads),
            "GRANIAN_BACKPRESSURE": str(self.backpressure),
            "GRANIAN_RUNTIME_THREADS": str(self.runtime_threads),
            "GRANIAN_RUNTIME_MODE": self.runtime_mode,
        }

    def args(self, port: int, working_dir: Path) -> list[str]:
        """`granian --interface wsgi` with granian_server.py's settings (the floors)."""
        args = [str(BIN / "granian"), "--interface", "wsgi", "--workers", "1", "--http", "1"]
        args += ["--blocking-threads", str(self.blocking_threads), "--no-ws"]
        args += ["--backpressure", str(self.backpressure), "--runtime-mode", self.runtime_mode]
        args += ["--runtime-threads", str(self.runtime_threads)]
        args += ["--host", "127.0.0.1", "--port", str(port), "--working-dir", str(working_dir)]
        return args

    def __str__(self) -> str:
        return (
            f"granian wsgi x{self.blocking_threads} blocking threads, backpressure"
            f" {self.backpressure}, runtime {self.runtime_mode} x{self.runtime_threads}"
        )


@dataclass(frozen=True)
class ServerSettings:
    """Both servers' settings, shared by every Python target so the per-core figures compare."""

    gunicorn: GunicornSettings
    granian: GranianSettings

    def env(self) -> dict[str, str]:
        """One worker, and each server's settings as the product reads them."""
        return {"WEB_CONCURRENCY": "1", **self.gunicorn.env(), **self.granian.env()}

    def describe(self, server: str) -> str:
        """One line for the report."""
        return str(self.gunicorn if server == "gunicorn" else self.granian)


@dataclass
class Target:
    """A server process under test: `kind` is what runs, `server` what serves it."""

    kind: str
    server: str
    cpu: str | None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    cookie: str | None = None
    log_path: Path | None = None

    @property
    def name(self) -> str:
        """The column key: `product@granian`, or `peer` for the Node peer."""
        return self.kind if self.server == "node" else f"{self.kind}@{self.server}"

    def _spawn(self, args: list[str], env: dict[str, str], cwd: Path, log_dir: Path) -> None:
        prefix = ["taskset", "-c", self.cpu] if self.cpu else []
        self.log_path = log_dir / f"{self.name}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*prefix, *args], cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=log
            )
        try:
            wait_until_up(self.port, self.alive)
        except (RuntimeError, TimeoutError):
            print(self.log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process is not None and self.process.poll() is None

    def pids(self) -> list[int]:
        """The server's processes (a master and its worker, or node)."""
        if self.process is None:
            return []
        root = psutil.Process(self.process.pid)
        return [root.pid, *(child.pid for child in root.children(recursive=True))]

    def worker_pid(self) -> int:
        """The process serving requests (the worker, or node itself)."""
        return self.pids()[-1]

    def session_key(self, cookie: str) -> str:
        """The Redis key behind a qid cookie."""
        return "sess:" + cookie.split("=", 1)[1]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def version(self) -> str:
        """What runs, for the report."""
        return self.name

    def login(self) -> str:
        """Log in as the bench user; return the qid cookie."""
        client = Client(self.port)
        status, answer, cookie = client.graphql(
            gql_body(LOGIN_QUERY, {"options": {"username": USERNAME, "password": PASSWORD}})
        )
        client.close()
        if status != 200 or cookie is None:
            raise RuntimeError(f"{self.name}: login failed: {status} {answer}")
        return cookie


@dataclass(frozen=True)
class Urls:
    """The backing services a Python target talks to."""

    database: str
    redis: str


class PythonTarget(Target):
    """A WSGI app under gunicorn or Granian with the run's settings, on the product's services."""

    def __init__(
        self, kind: str, server: str, cpu: str | None, settings: ServerSettings, urls: Urls
    ) -> None:
        super().__init__(kind, server, cpu)
        self.settings = settings
        self.urls = urls

    def command(self) -> list[str]:
        """The server's command line."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """The server's environment."""
        raise NotImplementedError

    def cwd(self) -> Path:
        """The directory the server starts in."""
        return PROJECT

    def start(self, log_dir: Path) -> None:
        """Start the server and wait until it answers `{ hello }`."""
        self._spawn(self.command(), self.env(), self.cwd(), log_dir)


class Product(PythonTarget):
    """The product, configured by environment as documented.

    Started by the command tests.support starts it with, so bench measures what deploys.
    """

    def __init__(
        self,
        server: str,
        cpu: str | None,
        settings: ServerSettings,
        urls: Urls,
        *,
        kind: str = "product",
        root: Path = PROJECT,
    ) -> None:
        super().__init__(kind, server, cpu, settings, urls)
        self.root = root
        self.extra_env: dict[str, str] = {}

    def cwd(self) -> Path:
        """The checkout (another one for a baseline)."""
        return self.root

    def env(self) -> dict[str, str]:
        """The production environment of the run."""
        return {
            **self.settings.env(),
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": self.urls.database,
            "REDIS_URL": self.urls.redis,
            "AUTO_MIGRATE": "1",
            "GUNICORN_ACCESS_LOG": "",
            **self.extra_env,
        }

    def command(self) -> list[str]:
        """As deployed: `gunicorn -c gunicorn.conf.py wsgi:app` or `python -m granian_server`."""
        return server_command(self.server)

    def start(self, log_dir: Path) -> None:
        """Start the server (its master checks the configuration and migrates first)."""
        env = full_env(self.env(), f"127.0.0.1:{self.port}")
        self._spawn(self.command(), env, self.cwd(), log_dir)

    def seed(self) -> None:
        """Register the bench user and write 20 posts through the product's own GraphQL API."""
        client = Client(self.port)
        options = {"options": {"username": USERNAME, "password": PASSWORD}}
        status, answer, cookie = client.graphql(gql_body(REGISTER_QUERY, options))
        if status != 200 or cookie is None or answer["data"]["register"]["errors"]:
            raise RuntimeError(f"product: register failed: {status} {answer}")
        for i in range(1, SEED_POSTS + 1):  # titles as the peer's seed writes them
            body = gql_body(SEED_POST_QUERY, {"title": f"post number {i}"})
            status, answer, _ = client.graphql(body, cookie)
            if status != 200 or "errors" in answer:
                raise RuntimeError(f"product: createPost failed: {status} {answer}")
        client.close()

    def version(self) -> str:
        """The server settings (and the commit, for a baseline; the extra environment)."""
        where = "" if self.root == PROJECT else f" at {self.root.name}"
        env = "".join(f" {k}={v}" for k, v in self.extra_env.items())
        return f"{self.settings.describe(self.server)}{where}{env}"


class Floor(PythonTarget):
    """An app of bench/ on the product's data, started from bench/ (no gunicorn.conf.py read).

    `floor` is bench/floor_app.py (raw WSGI), `flask` is bench/flask_floor_app.py (the same
    handlers behind Flask routes).
    """

    MODULES: ClassVar[dict[str, str]] = {"floor": "floor_app", "flask": "flask_floor_app"}

    def cwd(self) -> Path:
        """bench/, so floor_app imports as a top-level module."""
        return PROJECT / "bench"

    def env(self) -> dict[str, str]:
        """Where the floor finds the product's data."""
        return {
            "FLOOR_DATABASE_URL": self.urls.database,
            "FLOOR_REDIS_URL": self.urls.redis,
            "PYTHONPATH": str(PROJECT),  # the floor reads sessions with the product's codec
        }

    def command(self) -> list[str]:
        """The server on `<module>:app`."""
        app = f"{self.MODULES[self.kind]}:app"
        if self.server == "gunicorn":
            return [*self.settings.gunicorn.args(self.port), app]
        return [*self.settings.granian.args(self.port, self.cwd()), app]

    def version(self) -> str:
        """The app and the server settings."""
        return f"{self.MODULES[self.kind]}:app, {self.settings.describe(self.server)}"
