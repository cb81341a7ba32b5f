"""Instructions per request, counted by valgrind: the request path's cost on a noisy machine.

`python -m bench.instructions [--base REF] [--workloads hello,me]`

The same targets and requests as bench.request_path (product, base at REF, bare Flask), but
each counted by `valgrind --tool=callgrind` rather than timed: an instruction count does
not move when other processes take the core, so a change of a few percent shows on a shared
machine. Each target runs twice per workload in a child process, with 50 and 250 requests
after a warm-up, and the difference over 200 requests is what one request costs (start-up
and imports cancel out). Slow: about a minute per count on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench import request_path
from bench.services import PrivateRedis

FEWER, MORE = 50, 250
WARM_UP = 20
COLLECTED = re.compile(r"Collected : (\d+)")
FLASK = "flask"


def child(root: str, workload: str, count: int) -> None:
    """Serve ``count`` requests of ``workload`` on one target (run under valgrind)."""
    redis_url, work = os.environ["BENCH_REDIS_URL"], Path(os.environ["BENCH_WORK"])
    if root == FLASK:
        target = request_path.load_flask_floor(redis_url)
    else:
        env = request_path.product_env(redis_url, work)
        target = request_path.load_product("product", Path(root), env, migrate=False)
    cookie = (work / "cookie").read_text() if workload == "me" else None
    template = request_path.environ_for(request_path.WORKLOADS[workload], cookie)
    for _ in range(WARM_UP + count):
        request_path.call(target, template)


def counted(root: str, workload: str, count: int, env: dict[str, str]) -> int:
    """The instructions a child serving ``count`` requests executes in all."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += ["-m", "bench.instructions", "--child", f"{root}:{workload}:{count}"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = COLLECTED.search(done.stderr)
    if found is None:
        raise SystemExit(f"no count from valgrind for {root} {workload}:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_request(root: str, workload: str, env: dict[str, str]) -> float:
    """Instructions one request costs: the difference of two counts over the extra requests."""
    more, fewer = counted(root, workload, MORE, env), counted(root, workload, FEWER, env)
    return (more - fewer) / (MORE - FEWER)


def measure(args: argparse.Namespace, redis: PrivateRedis, work: Path) -> None:
    """Prepare the database and a logged-in cookie, then count each target and workload."""
    env = request_path.product_env(redis.url, work)
    product = request_path.load_product("product", request_path.PROJECT_DIR, env, migrate=True)
    (work / "cookie").write_text(request_path.log_in(product))
    roots = {"product": str(request_path.PROJECT_DIR)}
    if args.base:
        roots["base"] = str(request_path.base_tree(args.base, work))
    roots[FLASK] = FLASK
    child_env = {**os.environ, "PYTHONHASHSEED": "0", "BENCH_REDIS_URL": redis.url}
    child_env |= {"BENCH_WORK": str(work), "PYTHONPATH": str(request_path.PROJECT_DIR)}
    print(f"instructions per request (thousands), {MORE - FEWER} requests counted by callgrind")
    print("| workload | " + " | ".join(roots) + " | " + " | ".join(
        f"flask/{name}" for name in roots if name != FLASK) + " |")  # fmt: skip
    print("|---" * (2 * len(roots)) + "|")
    for workload in args.workloads.split(","):
        counts = {name: per_request(root, workload, child_env) for name, root in roots.items()}
        cells = [f"{counts[name] / 1000:.1f}" for name in roots]
        ratios = [f"{counts[FLASK] / counts[name]:.2f}" for name in roots if name != FLASK]
        print(f"| `{request_path.WORKLOADS[workload]}` | " + " | ".join(cells + ratios) + " |")


def main() -> int:
    """Count, or (as a child) serve requests to be counted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=None, help="git ref to compare with (column 'base')")
    parser.add_argument("--workloads", default="hello,me")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root, workload, count = args.child.rsplit(":", 2)
        child(root, workload, int(count))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    with request_path.private_workspace("instructions-") as (redis, work):
        measure(args, redis, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
