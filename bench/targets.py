"""The servers under test: the product, the Node peer and the floors, each pinned to one core."""

from __future__ import annotations

import os
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psutil

from bench.client import Client, gql_body, wait_until_up
from bench.services import Postgres, PrivateRedis, free_port, project_dir, redis_port_of
from sessions.record import SNAPSHOT, decode_record, encode_record

PROJECT = project_dir()
BIN = Path(sys.executable).parent
# ../shared next to the checkout; BENCH_PEER_SOURCE for a clone kept elsewhere
PEER_SOURCE = Path(
    os.environ.get("BENCH_PEER_SOURCE") or PROJECT.parent / "shared" / "peers" / "node-seed"
)
PEER_COPY = PROJECT / "bench" / ".peer" / "node-seed"
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


@dataclass
class GunicornSettings:
    """Worker settings shared by the product and the floors, so the per-core figures compare."""

    worker_class: str
    threads: int
    keepalive: int = 5

    @classmethod
    def from_product(cls, worker_class: str | None, threads: int | None) -> GunicornSettings:
        """The product's gunicorn.conf.py defaults, with the benchmark's overrides."""
        conf = runpy.run_path(str(PROJECT / "gunicorn.conf.py"))
        return cls(
            worker_class or str(conf["worker_class"]),
            threads or int(conf["threads"]),
            int(conf["keepalive"]),
        )

    def env(self) -> dict[str, str]:
        """The environment the product's gunicorn.conf.py reads these from."""
        return {
            "WEB_CONCURRENCY": "1",
            "GUNICORN_WORKER_CLASS": self.worker_class,
            "GUNICORN_THREADS": str(self.threads),
        }


@dataclass
class Target:
    """A server process under test."""

    name: str
    cpu: str | None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    cookie: str | None = None
    log_path: Path | None = None

    def _spawn(self, args: list[str], env: dict[str, str], cwd: Path, log_dir: Path) -> None:
        prefix = ["taskset", "-c", self.cpu] if self.cpu else []
        self.log_path = log_dir / f"{self.name}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*prefix, *args], cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=log
            )
        try:
            wait_until_up(
                self.port, lambda: self.process is not None and self.process.poll() is None
            )
        except (RuntimeError, TimeoutError):
            print(self.log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise

    def pids(self) -> list[int]:
        """The server's processes (a gunicorn master and its workers, or node)."""
        if self.process is None:
            return []
        root = psutil.Process(self.process.pid)
        return [root.pid, *(child.pid for child in root.children(recursive=True))]

    def worker_pid(self) -> int:
        """The process serving requests (the gunicorn worker, or node itself)."""
        pids = self.pids()
        return pids[-1]

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


class GunicornTarget(Target):
    """A server run by gunicorn with the run's worker settings, on the product's services."""

    def __init__(
        self,
        name: str,
        cpu: str | None,
        settings: GunicornSettings,
        database_url: str,
        redis_url: str,
    ):
        super().__init__(name, cpu)
        self.settings = settings
        self.database_url = database_url
        self.redis_url = redis_url


class Product(GunicornTarget):
    """The product under gunicorn, configured by environment as documented."""

    def __init__(
        self,
        cpu: str | None,
        settings: GunicornSettings,
        database_url: str,
        redis_url: str,
        *,
        root: Path = PROJECT,
        name: str = "product",
    ):
        super().__init__(name, cpu, settings, database_url, redis_url)
        self.root = root
        self.extra_env: dict[str, str] = {}

    def env(self) -> dict[str, str]:
        """The production environment of the run."""
        return {
            **self.settings.env(),
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "AUTO_MIGRATE": "1",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_ACCESS_LOG": "",
            **self.extra_env,
        }

    def start(self, log_dir: Path) -> None:
        """Start gunicorn (the master applies the migrations before forking the worker)."""
        args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"]
        self._spawn(args, self.env(), self.root, log_dir)

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
        """The worker settings (and the commit, for a baseline)."""
        where = "" if self.root == PROJECT else f" at {self.root.name}"
        env = "".join(f" {k}={v}" for k, v in self.extra_env.items())
        return f"gunicorn {self.settings.worker_class} x{self.settings.threads} threads{where}{env}"


def session_without_snapshot(redis: PrivateRedis, cookie: str) -> str:
    """A copy of a product session without its user snapshot: `me` must SELECT the user."""
    original = cookie.split("=", 1)[1]
    raw = redis.client.get("sess:" + original)
    if not isinstance(raw, bytes):
        raise RuntimeError("the product's session record is missing")
    record = decode_record(raw)
    if record is None:
        raise RuntimeError("the product's session record does not decode")
    if record.pop(SNAPSHOT, None) is None:
        print("   note: the product's session carries no user snapshot", flush=True)
    sid = secrets.token_urlsafe(len(original) * 3 // 4)  # an id of the same length
    redis.client.set("sess:" + sid, encode_record(record, sid), ex=3600)
    return "qid=" + sid


def export_tree(ref: str) -> Path:
    """The product's files at a git commit, in a temporary directory (for a baseline)."""
    rev = subprocess.run(
        ["git", "rev-parse", "--short", ref],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    root = Path(tempfile.mkdtemp(prefix=f"bench-base-{rev}-"))
    archive = subprocess.run(["git", "archive", rev], cwd=PROJECT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    return root


class Floor(GunicornTarget):
    """An app of bench/ under gunicorn with the product's worker settings, on its data.

    `floor` is bench/floor_app.py (raw WSGI), `flask` is bench/flask_floor_app.py (the same
    handlers behind Flask routes).
    """

    def __init__(
        self,
        cpu: str | None,
        settings: GunicornSettings,
        database_url: str,
        redis_url: str,
        *,
        module: str = "floor_app",
        name: str = "floor",
    ):
        super().__init__(name, cpu, settings, database_url, redis_url)
        self.module = module

    def start(self, log_dir: Path) -> None:
        """Start gunicorn on the app (from bench/, so no gunicorn.conf.py is read)."""
        s = self.settings
        args = [str(BIN / "gunicorn"), "-w", "1", "-k", s.worker_class, "--threads", str(s.threads)]
        args += ["--keep-alive", str(s.keepalive), "-b", f"127.0.0.1:{self.port}"]
        args.append(f"{self.module}:app")
        env = {"FLOOR_DATABASE_URL": self.database_url, "FLOOR_REDIS_URL": self.redis_url}
        env["PYTHONPATH"] = str(PROJECT)  # the floor reads sessions with the product's codec
        self._spawn(args, env, PROJECT / "bench", log_dir)

    def version(self) -> str:
        """The app and the worker settings."""
        s = self.settings
        return f"{self.module}:app, gunicorn {s.worker_class} x{s.threads} threads"


class NodePeer(Target):
    """../shared/peers/node-seed, built in a writable copy, on its own database."""

    def __init__(self, cpu: str | None, postgres: Postgres, database: str, redis_url: str):
        super().__init__("peer", cpu)
        self.postgres = postgres
        self.database = database
        self.redis_url = redis_url

    def env(self) -> dict[str, str]:
        """The peer's environment (see its README)."""
        return {
            "PGHOST": self.postgres.host,
            "PGPORT": str(self.postgres.port),
            "PGUSER": self.postgres.user,
            "PGPASSWORD": "postgres",
            "PGDATABASE": self.database,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(redis_port_of(self.redis_url)),
            "PORT": str(self.port),
            "NODE_ENV": "production",
        }

    def build(self) -> None:
        """Copy the peer to bench/.peer, `npm ci` when its lock file changed, `npx tsc`."""
        for tool in ("node", "npm", "npx"):
            if shutil.which(tool) is None:
                raise SystemExit(
                    f"PEER=node needs {tool} (Node 20 and npm: apt-get install nodejs npm)"
                )
        if not PEER_SOURCE.is_dir():
            raise SystemExit(
                f"the peer is not at {PEER_SOURCE}: set BENCH_PEER_SOURCE to its directory"
            )
        fresh = _sync_tree(PEER_SOURCE, PEER_COPY)
        if fresh or not (PEER_COPY / "node_modules").is_dir():
            _run(["npm", "ci", "--no-audit", "--no-fund"], PEER_COPY)
        _run(["npx", "tsc"], PEER_COPY)

    def seed(self) -> None:
        """Create its database and run its own seed script (20 posts, user bench/benchpass)."""
        self.postgres.recreate(self.database)
        _run(["node", "dist/seed.js"], PEER_COPY, self.env())

    def start(self, log_dir: Path) -> None:
        """Start `NODE_ENV=production node dist/index.js` on a free port."""
        self._spawn(["node", "dist/index.js"], self.env(), PEER_COPY, log_dir)

    def session_key(self, cookie: str) -> str:
        """express-session cookies are `s:<sid>.<signature>`, URL-encoded."""
        value = unquote(cookie.split("=", 1)[1])
        return "sess:" + value.removeprefix("s:").rsplit(".", 1)[0]

    def version(self) -> str:
        """Node's version."""
        out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
        return f"node {out.stdout.strip()}"


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    print(f"   $ {' '.join(args)}  (in {cwd.relative_to(PROJECT)})", flush=True)
    subprocess.run(args, cwd=cwd, env={**os.environ, **(env or {})}, check=True)


def _sync_tree(source: Path, copy: Path) -> bool:
    """Copy the peer's sources (not node_modules); True when its package-lock.json changed."""
    lock, old_lock = source / "package-lock.json", copy / "package-lock.json"
    changed = not old_lock.exists() or old_lock.read_bytes() != lock.read_bytes()
    copy.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name in {"node_modules", "dist", "results"}:
            continue
        target = copy / item.name
        if target.is_dir():
            shutil.rmtree(target)
        if item.is_dir():
            shutil.copytree(item, target)
        else:
            shutil.copyfile(item, target)
    for path in [copy, *copy.rglob("*")]:
        if "node_modules" not in path.parts:
            path.chmod(path.stat().st_mode | 0o200)
    return changed


def describe(targets: list[Any]) -> dict[str, str]:
    """Name -> version line of each target."""
    return {t.name: t.version() for t in targets}
