"""The targets of a run: which ones, started in order, seeded, logged in."""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.peer import NodePeer
from bench.services import Postgres, PrivateRedis
from bench.targets import (
    PROJECT,
    Floor,
    GranianSettings,
    GunicornSettings,
    Product,
    ServerSettings,
    Target,
    Urls,
)
from sessions.record import SNAPSHOT, decode_record, encode_record
from tests.support import SERVERS

PRODUCT_DB, PEER_DB = "bench_product", "bench_peer"
PLANS_ENV = "GRAPHQL_EXECUTION_PLANS"  # ignored by a product without execution plans


class Lineup:
    """Starts and stops the run's targets; knows their cookies and seeded data."""

    def __init__(
        self, args: argparse.Namespace, cpu: str | None, redis: PrivateRedis, postgres: Postgres
    ) -> None:
        self.args, self.cpu, self.redis, self.postgres = args, cpu, redis, postgres
        self.servers = [s for s in SERVERS if s in args.servers.split(",")]
        self.settings = ServerSettings(
            GunicornSettings.from_product(args.worker_class, args.threads),
            GranianSettings.from_product(args.granian_threads),
        )
        self.targets: list[Target] = []
        self.seed_max_id: dict[str, int] = {}  # database -> highest seeded post id
        self.no_snapshot_cookies: dict[str, str] = {}  # per target: session formats differ
        self.cleanup: list[Path] = []

    def start(self, out: Path, plans_off: bool) -> None:
        """Every target of the run, in an order that lets each rely on the previous ones."""
        print("== product: database, migrations, seed through its GraphQL API", flush=True)
        urls = Urls(self.postgres.recreate(PRODUCT_DB), self.redis.url)
        for server in self.servers:
            self._product(server, urls, out, kind="product", plans="1")
        if plans_off:
            for server in self.servers:
                self._product(server, urls, out, kind="noplans", plans="0")
        if self._wants_base():
            self._start_base(urls, out)
        if self.args.peer == "node":
            self._start_peer(out)
        if not self.args.no_floor:
            self._start_floors(urls, out)

    def _product(self, server: str, urls: Urls, out: Path, *, kind: str, plans: str) -> Product:
        print(f"== {kind}@{server}", flush=True)
        product = Product(server, self.cpu, self.settings, urls, kind=kind)
        product.extra_env[PLANS_ENV] = plans
        self._start_logged_in(product, out)
        return product

    def _start_logged_in(self, product: Product, out: Path) -> None:
        first = not self.targets
        self.targets.append(product)
        product.start(out)  # either server's master applies the migrations
        if first:
            product.seed()
            self.seed_max_id[PRODUCT_DB] = self.max_post_id(PRODUCT_DB)
        product.cookie = product.login()  # its own session: record formats may differ
        self.no_snapshot_cookies[product.name] = session_without_snapshot(
            self.redis, product.cookie
        )

    def _wants_base(self) -> bool:
        a = self.args
        tuned = a.base_worker_class or a.base_threads or a.base_env
        return bool(a.baseline or tuned or a.base_server != "gunicorn")

    def _start_base(self, urls: Urls, out: Path) -> None:
        a = self.args
        root = export_tree(a.baseline) if a.baseline else PROJECT
        if a.baseline:
            self.cleanup.append(root)
        gunicorn = GunicornSettings.from_product(
            a.base_worker_class or self.settings.gunicorn.worker_class,
            a.base_threads or self.settings.gunicorn.threads,
        )
        settings = ServerSettings(gunicorn, self.settings.granian)
        print(f"== base@{a.base_server}", flush=True)
        base = Product(a.base_server, self.cpu, settings, urls, kind="base", root=root)
        base.extra_env = dict(item.split("=", 1) for item in a.base_env)
        self._start_logged_in(base, out)

    def _start_peer(self, out: Path) -> None:
        print("== peer: build in bench/.peer, seed its database, start", flush=True)
        peer = NodePeer(self.cpu, self.postgres, PEER_DB, self.redis.url)
        peer.build()
        peer.seed()
        self.targets.append(peer)
        peer.start(out)
        peer.cookie = peer.login()
        self.seed_max_id[PEER_DB] = self.max_post_id(PEER_DB)

    def _start_floors(self, urls: Urls, out: Path) -> None:
        cookie = self.product().cookie
        for kind in ("floor", "flask"):
            for server in self.servers:
                print(f"== {kind}@{server}: bench/{Floor.MODULES[kind]}.py", flush=True)
                floor = Floor(kind, server, self.cpu, self.settings, urls)
                self.targets.append(floor)
                floor.start(out)
                floor.cookie = cookie

    def product(self) -> Target:
        """The first product target (its sessions serve the floors)."""
        return next(t for t in self.targets if t.kind == "product")

    def max_post_id(self, database: str) -> int:
        """The highest post id in a database."""
        return int(str(self.postgres.scalar(database, "SELECT max(id) FROM post")))

    def all_pids(self) -> list[int]:
        """Every server process of the run (they share the server core)."""
        return [pid for target in self.targets for pid in target.pids()]

    def stop(self, keep: bool) -> None:
        """Stop the servers; drop the databases unless ``keep``."""
        for target in self.targets:
            target.stop()
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)
        if not keep:
            for database in (PRODUCT_DB, PEER_DB):
                self.postgres.drop(database)


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
    show = ["git", "rev-parse", "--short", ref]
    done = subprocess.run(show, cwd=PROJECT, capture_output=True, text=True, check=True)
    rev = done.stdout.strip()
    root = Path(tempfile.mkdtemp(prefix=f"bench-base-{rev}-"))
    archive = subprocess.run(["git", "archive", rev], cwd=PROJECT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    return root
