"""The header of a report: machine, versions and settings of the run."""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, datetime
from importlib import metadata

from bench.lineup import Lineup
from bench.measure import Cpus

PACKAGES = ["flask", "werkzeug", "ariadne", "graphql-core", "flask-sqlalchemy", "sqlalchemy"]
PACKAGES += ["psycopg", "redis", "hiredis", "msgspec", "gunicorn", "granian", "argon2-cffi"]
PACKAGES.append("flask-session")


def header(args: argparse.Namespace, lineup: Lineup, cpus: Cpus) -> list[str]:
    """Machine, versions and settings of the run, as markdown lines."""
    versions = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    targets = "; ".join(f"{t.name}: {t.version()}" for t in lineup.targets)
    return [
        f"# bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: {os.cpu_count()} cores, {_cpu_model()}; {platform.platform()}",
        f"- python {platform.python_version()}; {versions}",
        f"- redis-server {lineup.redis.version()} (private to this run),"
        f" PostgreSQL {lineup.postgres.version()} (the shared server)",
        f"- {targets}",
        f"- server pinned to core {cpus.server}, wrk to core {cpus.load};"
        f" wrk -t1 -c{args.connections} -d{args.duration:g}s, warm-up {args.warmup:g}s",
        f"- {args.runs} run(s), medians; a case is retried (up to {args.max_tries}x) when others"
        f" used > {args.noise_limit:g}% of the server's core",
        "- ratios: req/s of the product over the peer's, or over bare Flask's on the same"
        " server; `plans on/off`: GRAPHQL_EXECUTION_PLANS=1 over =0",
    ]


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
