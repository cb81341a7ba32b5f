"""What the product adds above bare Flask per request, in one process, through the WSGI callable.

`python -m bench.request_path [--base REF] [--batches 60] [--size 50]`

No HTTP server, no threads, no network but Redis: each target's WSGI callable is called
with a prepared environ, `{ hello }` and `me` (logged in, answered from the session's user
snapshot) as the benchmark sends them. Targets: *product* (this tree), *base* (the tree at
REF, from `git archive`, loaded beside it under the same module names) and *flask* (bare
Flask with the floor's handlers: bench/flask_floor_app.py, the same Redis GET and JSON).
Batches run interleaved, the order rotating, so the machine's noise falls on every target
alike; the table gives the minimum and the median of the batches in µs per request, then
the Redis commands each request sends. Production settings (JSON logs and access log on,
to /dev/null; metrics in the servers' multiprocess mode), a private redis-server and a
SQLite file, all removed afterwards.
`--spy TARGET:WORKLOAD` profiles one pair with py-spy instead and prints the heaviest
frames, as bench.profile does (the collapsed stacks stay in bench/results/).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from werkzeug.test import EnvironBuilder

from bench.services import PrivateRedis, counter_delta

PROJECT_DIR = Path(__file__).resolve().parent.parent
# the project's top-level modules and packages: each tree loads its own copy of them
PACKAGES = frozenset({"app", "config", "extensions", "cli", "wsgi", "web", "blueprints"})
PACKAGES |= {"graphql_runtime", "services", "models", "sessions", "infra"}
SECRET = "bench-request-path-secret-0123456789abcdef0123456789"
USERNAME, PASSWORD = "bench_user", "correct horse battery"
WORKLOADS = {"hello": "{ hello }", "me": "{ me { id username } }"}
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Target:
    """A WSGI callable and the log handlers it writes through."""

    name: str
    wsgi: Wsgi
    handlers: list[logging.Handler]


def _own_modules(name: str) -> bool:
    return name.split(".", 1)[0] in PACKAGES


def _forget_metrics() -> None:
    """Unregister the metrics an earlier tree registered, so the next one can register its own."""
    import prometheus_client

    registry = prometheus_client.REGISTRY
    for collector in list(registry._collector_to_names):  # no public listing
        if isinstance(collector, prometheus_client.metrics.MetricWrapperBase):
            registry.unregister(collector)


@contextmanager
def _tree_on_path(root: Path) -> Iterator[None]:
    """Import the project's packages from ``root``; forget them afterwards (the app keeps them)."""
    _forget_metrics()
    for name in [m for m in sys.modules if _own_modules(m)]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if _own_modules(m)]:
            del sys.modules[name]


def load_product(name: str, root: Path, env: dict[str, str], migrate: bool) -> Target:
    """Create the app of the tree at ``root`` in production mode; migrate its database first."""
    root_logger = logging.getLogger()
    before = list(root_logger.handlers)
    # the app's log handler writes to it for good; unbuffered and written through, as stderr
    devnull = io.TextIOWrapper(open(os.devnull, "wb", buffering=0), write_through=True)  # noqa: SIM115
    with _tree_on_path(root), redirect_stderr(devnull):
        from app import create_app  # type: ignore[import-not-found,unused-ignore]
        from config import load_config  # type: ignore[import-not-found,unused-ignore]

        app = create_app(load_config(env, Path(env["INSTANCE_PATH"])))
        handlers = [h for h in root_logger.handlers if h not in before]
        level = root_logger.level
        if migrate:
            from infra.database import upgrade_database  # type: ignore[import-not-found,unused-ignore]

            upgrade_database(app)  # Alembic's fileConfig resets the root logger: undone below
    root_logger.handlers = before
    root_logger.setLevel(level)
    return Target(name, app, handlers)


def load_flask_floor(redis_url: str) -> Target:
    """bench/flask_floor_app.py on the same Redis (it needs no database for these workloads)."""
    os.environ["FLOOR_REDIS_URL"] = redis_url
    os.environ.setdefault("FLOOR_DATABASE_URL", "unused")
    sys.path.insert(0, str(PROJECT_DIR / "bench"))
    try:
        from flask_floor_app import app  # type: ignore[import-not-found,unused-ignore]
    finally:
        sys.path.remove(str(PROJECT_DIR / "bench"))
    return Target("flask", app, [])


def base_tree(ref: str, into: Path) -> Path:
    """The project's files at git ``ref``, unpacked under ``into``."""
    root = into / "base"
    root.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_DIR), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root


def environ_for(query: str, cookie: str | None, **variables: Any) -> dict[str, Any]:
    """The environ of one benchmark request, as a WSGI server would pass it."""
    headers = [("User-Agent", "wrk"), ("Accept", "*/*")]
    if cookie:
        headers.append(("Cookie", cookie))
    body = msgspec.json.encode({"query": query, **({"variables": variables} if variables else {})})
    builder = EnvironBuilder(
        path="/graphql", method="POST", data=body, content_type="application/json",
        headers=headers, base_url="http://127.0.0.1:4000",
    )  # fmt: skip
    environ: dict[str, Any] = builder.get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    environ["bench.body"] = body
    return environ


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    _start_response.status = status  # type: ignore[attr-defined]


def call(target: Target, template: dict[str, Any]) -> bytes:
    """One request through the target's WSGI callable; the body it answered."""
    environ = dict(template)
    environ["wsgi.input"] = io.BytesIO(template["bench.body"])
    result = target.wsgi(environ, _start_response)
    try:
        return b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def batch(target: Target, template: dict[str, Any], size: int) -> float:
    """µs per request over ``size`` requests, elapsed.

    Not the thread's CPU time: on this shared VM that clock runs ahead of the elapsed
    time under contention, so it measures the neighbours as much as the code.
    """
    logging.getLogger().handlers = target.handlers
    started = time.perf_counter_ns()
    for _ in range(size):
        call(target, template)
    return (time.perf_counter_ns() - started) / size / 1000


def log_in(product: Target) -> str:
    """Register the bench user through the product; the Cookie header of its new session."""
    register = (
        "mutation R($username: String!, $password: String!) { register(options: "
        "{username: $username, password: $password}) { user { id } } }"
    )
    environ = environ_for(register, None, username=USERNAME, password=PASSWORD)
    environ["wsgi.input"] = io.BytesIO(environ["bench.body"])
    # an address of its own each run: the per-IP registration limit must not add up
    environ["REMOTE_ADDR"] = f"10.{os.getpid() % 250}.{int(time.time()) % 250}.1"
    captured: list[Any] = []
    body = b"".join(product.wsgi(environ, lambda s, h, e=None: captured.append(h)))
    cookies = [v for k, v in captured[0] if k == "Set-Cookie"]
    if not cookies:
        raise SystemExit(f"could not register: {body!r}")
    return str(cookies[0]).split(";", 1)[0]


def check(target: Target, templates: dict[str, dict[str, Any]]) -> None:
    """Each target answers each workload as the benchmark expects."""
    hello = msgspec.json.decode(call(target, templates["hello"]))
    me = msgspec.json.decode(call(target, templates["me"]))
    assert hello == {"data": {"hello": "hello world"}}, (target.name, hello)
    assert me["data"]["me"]["username"] == USERNAME, (target.name, me)


Samples = dict[tuple[str, str], list[float]]


def measure(targets: list[Target], templates: dict[str, dict[str, Any]], args: Any) -> Samples:
    """Interleaved batches: per target and workload, the µs per request of each batch."""
    samples: Samples = {}
    pairs = [(t, w) for w in templates for t in targets]
    for t, w in pairs:
        batch(t, templates[w], args.size)  # warm-up: caches, connections, first imports
    for i in range(args.batches):
        shift = i % len(pairs)
        for target, workload in pairs[shift:] + pairs[:shift]:
            micros = batch(target, templates[workload], args.size)
            samples.setdefault((target.name, workload), []).append(micros)
    return samples


def report(
    samples: Samples, names: list[str], args: Any, workloads: dict[str, str] = WORKLOADS
) -> None:
    """Print the table: min and median µs per request, and the ratios to bare Flask."""
    print(f"\n{args.batches} interleaved batches of {args.size} requests, µs per request,")
    print("minimum (median) of the batches; ratios from the minima")
    ratios = [n for n in names if n != "flask"]
    head = ["workload", *names, *(f"{n}/flask req/s" for n in ratios)]
    print("| " + " | ".join(head) + " |\n" + "|---" * len(head) + "|")
    for workload, query in workloads.items():
        runs = {n: samples[n, workload] for n in names}
        cells = [f"{min(runs[n]):.1f} ({statistics.median(runs[n]):.1f})" for n in names]
        shares = [f"{min(runs['flask']) / min(runs[n]):.2f}" for n in ratios]
        print(f"| `{query}` | " + " | ".join(cells + shares) + " |")


def spy(target: Target, template: dict[str, Any], seconds: float) -> None:
    """Sample this process with py-spy while it serves one workload; print the top frames."""
    from bench.profile import PY_SPY, show

    stacks = PROJECT_DIR / "bench" / "results" / time.strftime("request-path-%Y%m%dT%H%M%S.txt")
    stacks.parent.mkdir(parents=True, exist_ok=True)
    record = [PY_SPY, "record", "--format", "raw", "-r", "500", "-d", str(int(seconds))]
    spy_process = subprocess.Popen(
        [*record, "-o", str(stacks), "--pid", str(os.getpid())],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + seconds + 1
    while spy_process.poll() is None and time.monotonic() < deadline:
        batch(target, template, 200)
    spy_process.wait(30)
    show(stacks, 40)
    print(f"   stacks: {stacks}")


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=None, help="git ref to compare with (column 'base')")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--size", type=int, default=50, help="requests per batch")
    parser.add_argument("--spy", default=None, help="TARGET:WORKLOAD to profile with py-spy")
    parser.add_argument("--seconds", type=float, default=10)
    return parser.parse_args()


def redis_commands(redis: PrivateRedis, target: Target, template: dict[str, Any]) -> str:
    """Redis commands one request sends, from the server's own counts over 10 requests."""
    before = redis.command_counts()
    for _ in range(10):
        call(target, template)
    delta = counter_delta(redis.command_counts(), before)
    return " ".join(f"{n / 10:g} {name.upper()}" for name, n in sorted(delta.items())) or "0"


def product_env(redis_url: str, work: Path) -> dict[str, str]:
    """The product's settings here: production mode, a SQLite file under ``work``."""
    return {
        "APP_ENV": "production", "SECRET_KEY": SECRET, "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite'}", "INSTANCE_PATH": str(work),
        "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024", "ARGON2_PARALLELISM": "1",
    }  # fmt: skip


def run(args: argparse.Namespace, redis: PrivateRedis, work: Path) -> None:
    """Load the targets, check them, then measure (or profile) and print."""
    env = product_env(redis.url, work)
    targets = [load_product("product", PROJECT_DIR, env, migrate=True)]
    if args.base:
        targets.append(load_product("base", base_tree(args.base, work), env, migrate=False))
    targets.append(load_flask_floor(redis.url))
    cookie = log_in(targets[0])
    templates = {"hello": environ_for(WORKLOADS["hello"], None)}
    templates["me"] = environ_for(WORKLOADS["me"], cookie)
    for target in targets:
        check(target, templates)
    if args.spy:
        name, _, workload = args.spy.partition(":")
        chosen = next(t for t in targets if t.name == name)
        spy(chosen, templates[workload or "hello"], args.seconds)
        return
    samples = measure(targets, templates, args)
    report(samples, [t.name for t in targets], args)
    for workload, template in templates.items():
        counts = [f"{t.name} {redis_commands(redis, t, template)}" for t in targets]
        print(f"Redis commands per `{WORKLOADS[workload]}`: " + ", ".join(counts))


@contextmanager
def private_workspace(prefix: str) -> Iterator[tuple[PrivateRedis, Path]]:
    """A private redis-server and a scratch directory, both removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    # metrics as the servers' workers keep them (tallied, multiprocess files), not as one
    # process without the servers' setting does (each observation written at once)
    (work / "metrics").mkdir()
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(work / "metrics"))
    redis = PrivateRedis()
    try:
        yield redis, work
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    """Run against a private redis-server, removed afterwards."""
    args = parse_args()
    with private_workspace("request-path-") as (redis, work):
        run(args, redis, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
