"""`make bench`: the product, the floors (and with PEER=node the Node peer) under wrk, per core.

Each server runs pinned to core 0 with one worker process, wrk (one thread) runs pinned to
core 1, over loopback, against a private redis-server and databases of our own on the
shared PostgreSQL. Every workload runs on every target within the same run, interleaved,
and the table reports medians over the runs. See bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client import Client, gql_body
from bench.load import (
    Meter,
    Request,
    RssSampler,
    Sample,
    ensure_wrk,
    parse_result,
    run_wrk,
    settle,
    to_sample,
    wait_quiet,
    wrk_command,
    wrk_env,
)
from bench.report import Report
from bench.services import Postgres, PrivateRedis, counter_delta, project_dir
from bench.targets import (
    PROJECT,
    Floor,
    GunicornSettings,
    NodePeer,
    Product,
    Target,
    export_tree,
    session_without_snapshot,
)
from bench.workloads import DEFAULT_IDS, HELLO_UNDER_LOGIN, Workload, by_id

PRODUCT_DB, PEER_DB = "bench_product", "bench_peer"
PACKAGES = ["flask", "werkzeug", "ariadne", "graphql-core", "flask-sqlalchemy", "sqlalchemy"]
PACKAGES += ["psycopg", "redis", "hiredis", "msgspec", "gunicorn", "argon2-cffi", "flask-session"]
HELLO_UNDER_LOGIN_LABEL = "`{ hello }` while 4 other connections log in"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line knobs (each also readable from a BENCH_* environment variable)."""
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=["node"], default=env("PEER") or None)
    parser.add_argument("--duration", type=float, default=float(env("BENCH_DURATION", "10")))
    parser.add_argument("--warmup", type=float, default=float(env("BENCH_WARMUP", "3")))
    parser.add_argument("--runs", type=int, default=int(env("BENCH_RUNS", "3")))
    parser.add_argument("--connections", type=int, default=int(env("BENCH_CONNECTIONS", "16")))
    parser.add_argument("--workloads", default=env("BENCH_WORKLOADS", ",".join(DEFAULT_IDS)))
    parser.add_argument("--worker-class", default=env("GUNICORN_WORKER_CLASS"))
    parser.add_argument("--threads", type=int, default=int(env("GUNICORN_THREADS", "0")) or None)
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the floor columns (floor, flask)"
    )
    parser.add_argument("--baseline", help="also run the product at this git ref (column 'base')")
    parser.add_argument("--base-worker-class", help="worker class of the 'base' column")
    parser.add_argument("--base-threads", type=int, help="threads of the 'base' column")
    parser.add_argument(
        "--base-env", action="append", default=[], help="KEY=VALUE for the 'base' column only"
    )
    parser.add_argument("--idle-wait", type=float, default=float(env("BENCH_IDLE_WAIT", "20")))
    parser.add_argument("--max-tries", type=int, default=int(env("BENCH_MAX_TRIES", "2")))
    parser.add_argument("--noise-limit", type=float, default=float(env("BENCH_NOISE_LIMIT", "20")))
    parser.add_argument("--quick", action="store_true", help="3 s per case, 1 run: a smoke run")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.runs, args.idle_wait, args.max_tries = 3, 1, 1, 0, 1
    return args


class Bench:
    """One benchmark run: services, targets, measurements, report."""

    def __init__(self, args: argparse.Namespace, wrk: str, out: Path) -> None:
        self.args, self.wrk_path, self.out = args, wrk, out
        several = (os.cpu_count() or 1) >= 2
        self.server_cpu: str | None = "0" if several else None
        self.load_cpu: str | None = "1" if several else None
        self.workloads = by_id(args.workloads.split(","))
        self.with_hello_under_login = HELLO_UNDER_LOGIN in args.workloads.split(",")
        self.redis = PrivateRedis()
        self.postgres = Postgres()
        self.settings = GunicornSettings.from_product(args.worker_class, args.threads)
        self.targets: list[Target] = []
        self.seed_max_id: dict[str, int] = {}
        self.no_snapshot_cookies: dict[str, str] = {}  # per target: session formats differ
        self.bodies: dict[str, Path] = {}
        self.cleanup: list[Path] = []
        labels = {w.id: w.label for w in self.workloads}
        if self.with_hello_under_login:
            labels[HELLO_UNDER_LOGIN] = HELLO_UNDER_LOGIN_LABEL
        self.report = Report(labels, {})

    # -- set-up -------------------------------------------------------------------------
    def prepare(self) -> None:
        """Databases, servers, seed data, login cookies, answers checked."""
        print("== product: database, gunicorn, seed through its GraphQL API", flush=True)
        product_url = self.postgres.recreate(PRODUCT_DB)
        product = Product(self.server_cpu, self.settings, product_url, self.redis.url)
        self.targets.append(product)
        product.start(self.out)
        product.seed()
        product.cookie = product.login()
        self.seed_max_id["product"] = self._max_post_id(PRODUCT_DB)
        self.no_snapshot_cookies["product"] = session_without_snapshot(self.redis, product.cookie)
        a = self.args
        if a.baseline or a.base_worker_class or a.base_threads or a.base_env:
            root = export_tree(a.baseline) if a.baseline else PROJECT
            if a.baseline:
                self.cleanup.append(root)
            settings = GunicornSettings.from_product(
                a.base_worker_class or self.settings.worker_class,
                a.base_threads or self.settings.threads,
            )
            base = Product(
                self.server_cpu, settings, product_url, self.redis.url, root=root, name="base"
            )
            base.extra_env = dict(item.split("=", 1) for item in a.base_env)
            self.targets.append(base)
            base.start(self.out)
            base.cookie = base.login()  # its own session: the record format may differ
            self.no_snapshot_cookies["base"] = session_without_snapshot(self.redis, base.cookie)
        if self.args.peer == "node":
            self._prepare_peer()
        if not self.args.no_floor:
            self._prepare_floor(product_url, product.cookie)
        self._write_bodies()
        self.check_answers()

    def _prepare_peer(self) -> None:
        print("== peer: build in bench/.peer, seed its database, start", flush=True)
        peer = NodePeer(self.server_cpu, self.postgres, PEER_DB, self.redis.url)
        peer.build()
        peer.seed()
        self.targets.append(peer)
        peer.start(self.out)
        peer.cookie = peer.login()
        self.seed_max_id["peer"] = self._max_post_id(PEER_DB)

    def _prepare_floor(self, database_url: str, cookie: str) -> None:
        for module, name in (("floor_app", "floor"), ("flask_floor_app", "flask")):
            print(f"== {name}: bench/{module}.py on the product's data", flush=True)
            floor = Floor(
                self.server_cpu,
                self.settings,
                database_url,
                self.redis.url,
                module=module,
                name=name,
            )
            self.targets.append(floor)
            floor.start(self.out)
            floor.cookie = cookie

    def _max_post_id(self, database: str) -> int:
        return int(str(self.postgres.scalar(database, "SELECT max(id) FROM post")))

    def _write_bodies(self) -> None:
        bodies = self.out / "bodies"
        bodies.mkdir(exist_ok=True)
        for w in [*self.workloads, *by_id(["hello", "login"])]:
            if w.query is not None:
                path = bodies / f"{w.id}.json"
                path.write_bytes(gql_body(w.query, w.variables))
                self.bodies[w.id] = path

    def cookie(self, target: Target, workload: Workload) -> str | None:
        """The cookie a workload sends to a target."""
        if workload.no_snapshot:  # the floors read the product's records
            return self.no_snapshot_cookies.get(target.name, self.no_snapshot_cookies["product"])
        return target.cookie if workload.logged_in else None

    def applies(self, target: Target, workload: Workload) -> bool:
        """Whether a target can answer a workload."""
        return target.name in workload.targets

    def send(self, client: Client, target: Target, workload: Workload) -> tuple[int, object]:
        """One request of a workload through a keep-alive client."""
        cookie = self.cookie(target, workload)
        if workload.query is None:
            status, _, data = client.request("GET", workload.path, None, cookie)
        else:
            body = self.bodies[workload.id].read_bytes()
            status, _, data = client.request("POST", workload.path, body, cookie)
        return status, json.loads(data)

    def check_answers(self) -> None:
        """Every target answers every workload correctly before anything is timed."""
        print("== checking answers", flush=True)
        self.reset_rate_limits()
        for target in self.targets:
            client = Client(target.port)
            for w in self.workloads:
                if not self.applies(target, w):
                    continue
                status, answer = self.send(client, target, w)
                if status != 200 or not w.check(answer):
                    raise SystemExit(f"{target.name} answered {w.id} wrongly: {status} {answer}")
                if w.mutates:
                    self.restore_posts()
            client.close()
        print("   all answers correct", flush=True)

    def reset_rate_limits(self) -> None:
        """Forget the product's login attempt counters (rl:*): the login case is not an attack."""
        keys = list(self.redis.client.scan_iter("rl:*", count=1000))
        if keys:
            self.redis.client.delete(*keys)

    @contextmanager
    def rate_limits_forgotten(self) -> Iterator[None]:
        """Reset the counters every 0.5 s meanwhile: the limiter still runs, never refuses.

        All of wrk's logins come from 127.0.0.1, which the product allows 50 attempts per
        15 minutes; a 10 s case makes more.
        """
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(0.5):
                self.reset_rate_limits()

        self.reset_rate_limits()
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def restore_posts(self) -> None:
        """Delete the posts createPost added, so `posts` always lists the seeded 20."""
        databases = {"product": PRODUCT_DB, "peer": PEER_DB}
        for name, max_id in self.seed_max_id.items():
            self.postgres.execute(databases[name], "DELETE FROM post WHERE id > %s", max_id)

    # -- Redis commands and sessions ----------------------------------------------------
    def count_commands(self) -> None:
        """Redis commands per request (INFO commandstats deltas over sequential requests)."""
        print("== Redis commands per request", flush=True)
        for w in self.workloads:
            n = 3 if w.argon2 else 5 if w.mutates else 20
            for target in self.targets:
                if self.applies(target, w):
                    per = self._commands_of(target, w, n)
                    self.report.commands.setdefault(w.id, {})[target.name] = per
                    self.restore_posts()

    def _commands_of(self, target: Target, workload: Workload, n: int) -> str:
        self.reset_rate_limits()
        client = Client(target.port)
        self.send(client, target, workload)  # connections to Redis and the database exist
        before = self.redis.command_counts()
        for _ in range(n):
            self.send(client, target, workload)
        delta = counter_delta(self.redis.command_counts(), before)
        client.close()
        total = sum(delta.values()) / n
        detail = " ".join(f"{k.upper()}x{v / n:g}" for k, v in sorted(delta.items()))
        return f"{total:g}" + (f" ({detail})" if detail else "")

    def measure_sessions(self) -> None:
        """Bytes per logged-in session in Redis, for the product and the peer."""
        for target in self.targets:
            if isinstance(target, Floor) or target.cookie is None:
                continue
            key = target.session_key(target.cookie)
            usage = self.redis.memory_usage(key)
            length = self.redis.client.strlen(key)
            self.report.sessions[target.name] = (
                f"{usage} bytes (value {length} bytes, key `{key[:12]}…`)"
            )

    # -- load ---------------------------------------------------------------------------
    def request(self, target: Target, workload: Workload) -> Request:
        """What wrk sends for a workload."""
        body = self.bodies.get(workload.id)
        return Request(workload.method, workload.path, body, self.cookie(target, workload))

    def wrk(self, target: Target, workload: Workload, duration: float, conns: int) -> list[str]:
        """The wrk command line for one case."""
        url = f"http://127.0.0.1:{target.port}{workload.path}"
        timeout = 30 if workload.argon2 else 10
        return wrk_command(self.wrk_path, url, duration, conns, timeout=timeout, cpu=self.load_cpu)

    def warm_up(self) -> None:
        """A short run of every case (not reported): caches, pools, JIT."""
        print(f"== warm-up ({self.args.warmup:g} s per case)", flush=True)
        for w in self.workloads:
            for target in self.targets:
                if self.applies(target, w):
                    duration = min(self.args.warmup, 2) if w.argon2 else self.args.warmup
                    with self.rate_limits_forgotten():
                        run_wrk(
                            self.wrk(target, w, duration, self.args.connections),
                            self.request(target, w),
                        )
                    settle(self.all_pids())
            if w.mutates:
                self.restore_posts()

    def case(self, target: Target, workload: Workload) -> Sample:
        """One timed case, repeated (up to --max-tries) while others disturb the server's core."""
        best: Sample | None = None
        for _ in range(self.args.max_tries):
            sample = self._timed(target, lambda: self._one_wrk(target, workload))
            if best is None or sample.core_other < best.core_other:
                best = sample
            if sample.core_other <= self.args.noise_limit:
                break
            print(f"   disturbed: {sample.core_other:.0f}% of the server's core used by others")
        assert best is not None
        return best

    def _one_wrk(self, target: Target, workload: Workload) -> Sample:
        command = self.wrk(target, workload, self.args.duration, self.args.connections)
        with self.rate_limits_forgotten():
            return to_sample(run_wrk(command, self.request(target, workload)))

    def all_pids(self) -> list[int]:
        """Every server process of the run (they share the server core)."""
        return [pid for target in self.targets for pid in target.pids()]

    def _timed(self, target: Target, body: Callable[[], Sample]) -> Sample:
        settle(self.all_pids())  # e.g. argon2 work queued by a previous login case
        wait_quiet(self.args.idle_wait)
        meter = Meter(target.pids(), set(self.all_pids()), self.server_cpu)
        sampler = RssSampler(target.worker_pid())
        sampler.start()
        meter.start()
        sample = body()
        meter.stop(sample)
        sample.rss_mb = sampler.finish()
        return sample

    def hello_under_login(self, target: Target) -> Sample:
        """`{ hello }` on 12 connections while 4 connections log in without pause."""
        hello, login = by_id(["hello"])[0], by_id(["login"])[0]
        login_cmd = self.wrk(target, login, self.args.duration + 2, 4)

        def both() -> Sample:
            login_env = wrk_env(self.request(target, login))
            with self.rate_limits_forgotten():
                background = subprocess.Popen(
                    login_cmd, env=login_env, stdout=subprocess.PIPE, text=True
                )
                time.sleep(1)
                sample = self._one_wrk_with(target, hello, 12)
                output, _ = background.communicate(timeout=self.args.duration + 60)
            sample.extra["login_rps"] = parse_result(output)["rps"]
            return sample

        return self._timed(target, both)

    def _one_wrk_with(self, target: Target, workload: Workload, conns: int) -> Sample:
        command = self.wrk(target, workload, self.args.duration, conns)
        return to_sample(run_wrk(command, self.request(target, workload)))

    def measure(self) -> None:
        """Every case on every target, interleaved, --runs times."""
        results = self.report.results
        for run in range(self.args.runs):
            order = (
                self.targets[run % len(self.targets) :] + self.targets[: run % len(self.targets)]
            )
            for w in self.workloads:
                for target in order:
                    if self.applies(target, w):
                        sample = self.case(target, w)
                        results.setdefault(w.id, {}).setdefault(target.name, []).append(sample)
                        _progress(run, w.id, target.name, sample)
                if w.mutates:
                    self.restore_posts()
            if self.with_hello_under_login:
                for target in order:
                    sample = self.hello_under_login(target)
                    results.setdefault(HELLO_UNDER_LOGIN, {}).setdefault(target.name, []).append(
                        sample
                    )
                    _progress(run, HELLO_UNDER_LOGIN, target.name, sample)

    # -- the end ------------------------------------------------------------------------
    def header(self) -> list[str]:
        """Machine, versions and settings of the run."""
        versions = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
        targets = "; ".join(f"{t.name}: {t.version()}" for t in self.targets)
        a = self.args
        return [
            f"# bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"- machine: {os.cpu_count()} cores, {_cpu_model()}; {platform.platform()}",
            f"- python {platform.python_version()}; {versions}",
            f"- redis-server {self.redis.version()} (private to this run),"
            f" PostgreSQL {self.postgres.version()} (the shared server)",
            f"- {targets}",
            f"- server pinned to core {self.server_cpu}, wrk to core {self.load_cpu};"
            f" wrk -t1 -c{a.connections} -d{a.duration:g}s, warm-up {a.warmup:g}s",
            f"- {a.runs} run(s), medians; a case is retried (up to {a.max_tries}x) when others"
            f" used > {a.noise_limit:g}% of the server's core",
            "- CPU %: 100 = one core. 'other on its core': core 0 time not used by the server"
            " (others' work, Redis, Postgres); 'foreign': processes outside the benchmark",
        ]

    def finish(self) -> str:
        """Print and save the report."""
        self.report.header = self.header()
        text = self.report.markdown()
        (self.out / "results.md").write_text(text)
        raw = {
            w: {t: [asdict(s) for s in samples] for t, samples in per.items()}
            for w, per in self.report.results.items()
        }
        (self.out / "samples.json").write_text(json.dumps(raw, indent=1))
        return text

    def teardown(self) -> None:
        """Stop the servers and Redis; drop the databases unless --keep."""
        for target in self.targets:
            target.stop()
        self.redis.stop()
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)
        if not self.args.keep:
            for database in (PRODUCT_DB, PEER_DB):
                self.postgres.drop(database)


def _progress(run: int, workload: str, target: str, s: Sample) -> None:
    extra = "".join(f" {k}={v:.1f}" for k, v in s.extra.items())
    print(
        f"   run {run + 1} {workload:<18} {target:<8} {s.rps:8.0f} req/s  p50 {s.p50_ms:6.1f}"
        f"  p99 {s.p99_ms:6.1f} ms  err {s.errors}  cpu {s.server_cpu:3.0f}%"
        f"  other {s.core_other:3.0f}%  rss {s.rss_mb:.0f} MB{extra}",
        flush=True,
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def default_out() -> Path:
    """bench/results/<UTC time>/, created."""
    out = project_dir() / "bench" / "results" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    args = parse_args(argv)
    wrk = ensure_wrk()
    out = args.out or project_dir() / "bench" / "results" / datetime.now(UTC).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    out.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, wrk, out)
    try:
        bench.prepare()
        bench.count_commands()
        bench.measure_sessions()
        bench.warm_up()
        bench.measure()
        print()
        print(bench.finish())
        print(f"results in {out}/")
    finally:
        bench.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
