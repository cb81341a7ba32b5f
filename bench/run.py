"""`make bench`: the product and the floors under gunicorn and Granian (and with PEER=node the
Node peer), per core.

Each server runs pinned to core 0 with one worker process, wrk (one thread) runs pinned to
core 1, over loopback, against a private redis-server and databases of our own on the
shared PostgreSQL. Every workload runs on every target within the same run, interleaved,
and the tables report medians over the runs. See bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.audit import RedisAudit
from bench.cases import Cases
from bench.lineup import Lineup
from bench.load import ensure_wrk
from bench.machine import header
from bench.measure import Cpus, Measurer
from bench.report import Report
from bench.services import Postgres, PrivateRedis, project_dir
from bench.verdicts import verdicts
from bench.workloads import (
    DEFAULT_IDS,
    HELLO_UNDER_LOGIN,
    HELLO_UNDER_LOGIN_LABEL,
    KNOWN_IDS,
    by_id,
)
from tests.support import SERVERS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line knobs (each also readable from a BENCH_* environment variable)."""
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--peer", choices=["node"], default=env("PEER") or None)
    add("--servers", default=env("BENCH_SERVERS", ",".join(SERVERS)), help="gunicorn,granian")
    add("--duration", type=float, default=float(env("BENCH_DURATION", "6")))
    add("--warmup", type=float, default=float(env("BENCH_WARMUP", "2")))
    add("--runs", type=int, default=int(env("BENCH_RUNS", "3")))
    add("--connections", type=int, default=int(env("BENCH_CONNECTIONS", "16")))
    add("--workloads", default=env("BENCH_WORKLOADS", ",".join(DEFAULT_IDS)), help="or 'all'")
    add("--worker-class", default=env("GUNICORN_WORKER_CLASS"))
    add("--threads", type=int, default=int(env("GUNICORN_THREADS", "0")) or None)
    add("--granian-threads", type=int, default=int(env("BENCH_GRANIAN_THREADS", "0")) or None)
    add("--no-floor", action="store_true", help="skip the floor columns (floor, flask)")
    add("--no-plans-off", action="store_true", help="skip the product with plans off")
    add("--baseline", help="also run the product at this git ref (column 'base')")
    add("--base-server", choices=SERVERS, default="gunicorn", help="server of the 'base' column")
    add("--base-worker-class", help="worker class of the 'base' column")
    add("--base-threads", type=int, help="threads of the 'base' column")
    add("--base-env", action="append", default=[], help="KEY=VALUE for the 'base' column only")
    add("--idle-wait", type=float, default=float(env("BENCH_IDLE_WAIT", "20")))
    add("--max-tries", type=int, default=int(env("BENCH_MAX_TRIES", "2")))
    add("--noise-limit", type=float, default=float(env("BENCH_NOISE_LIMIT", "20")))
    add("--quick", action="store_true", help="smoke run: 2 s per case, 1 run, no waiting")
    add("--keep", action="store_true", help="keep the databases afterwards")
    add("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not set(args.servers.split(",")) <= set(SERVERS):
        parser.error(f"--servers takes a comma-separated subset of {','.join(SERVERS)}")
    if args.workloads == "all":
        args.workloads = ",".join(KNOWN_IDS)
    if args.quick:
        args.duration, args.warmup, args.runs, args.idle_wait, args.max_tries = 2, 1, 1, 0, 1
    return args


class Bench:
    """One benchmark run: wires the services, the lineup, the measurements and the report."""

    def __init__(self, args: argparse.Namespace, wrk: str, out: Path) -> None:
        self.args, self.out = args, out
        ids = args.workloads.split(",")
        self.workloads = by_id(ids)
        self.with_hello_under_login = HELLO_UNDER_LOGIN in ids
        self.cpus = Cpus(os.cpu_count() or 1)
        self.redis, self.postgres = PrivateRedis(), Postgres()
        try:
            self.lineup = Lineup(args, self.cpus.server, self.redis, self.postgres)
        except BaseException:
            self.redis.stop()  # main's teardown needs a Bench: this one was never made
            raise
        self.cases = Cases(self.lineup, self.workloads, out)
        self.measurer = Measurer(args, wrk, self.cpus, self.cases)
        self.audit = RedisAudit(self.cases)

    def prepare(self) -> None:
        """Databases, servers, seed data, login cookies, answers checked."""
        plans_off = not self.args.no_plans_off and any(
            "noplans" in w.targets for w in self.workloads
        )
        self.lineup.start(self.out, plans_off)
        self.cases.check_answers()

    def run(self) -> Report:
        """Audit Redis, warm up, measure; the report."""
        self.audit.count_commands()
        self.audit.measure_sessions()
        self.measurer.warm_up()
        results = self.measurer.measure(self.with_hello_under_login)
        labels = {w.id: w.label for w in self.workloads}
        labels[HELLO_UNDER_LOGIN] = HELLO_UNDER_LOGIN_LABEL
        report = Report(labels, results, self.audit.commands, self.audit.sessions)
        report.header = header(self.args, self.lineup, self.cpus)
        return report

    def finish(self, report: Report) -> str:
        """Save the report and the raw samples; the report's text."""
        text = report.markdown(verdicts(report))
        (self.out / "results.md").write_text(text)
        raw = {
            w: {t: [asdict(s) for s in samples] for t, samples in per.items()}
            for w, per in report.results.items()
        }
        (self.out / "samples.json").write_text(json.dumps(raw, indent=1))
        return text

    def teardown(self) -> None:
        """Stop the servers and Redis; drop the databases unless --keep."""
        self.lineup.stop(self.args.keep)
        self.redis.stop()


def default_out() -> Path:
    """bench/results/<UTC time>/, created."""
    out = project_dir() / "bench" / "results" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    args = parse_args(argv)
    wrk = ensure_wrk()
    out = args.out or default_out()
    out.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, wrk, out)
    try:
        bench.prepare()
        text = bench.finish(bench.run())
        print()
        print(text)
        print(f"results in {out}/")
    finally:
        bench.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
