"""The Node peer: ../shared/peers/node-seed, built in a writable copy, on its own database."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

from bench.services import Postgres, redis_port_of
from bench.targets import PROJECT, Target

# ../shared next to the checkout; BENCH_PEER_SOURCE for a clone kept elsewhere
PEER_SOURCE = Path(
    os.environ.get("BENCH_PEER_SOURCE") or PROJECT.parent / "shared" / "peers" / "node-seed"
)
PEER_COPY = PROJECT / "bench" / ".peer" / "node-seed"


class NodePeer(Target):
    """`NODE_ENV=production node dist/index.js`, pinned like the Python targets."""

    def __init__(self, cpu: str | None, postgres: Postgres, database: str, redis_url: str):
        super().__init__("peer", "node", cpu)
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
