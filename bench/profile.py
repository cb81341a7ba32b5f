"""Profile the product's worker under load: `python -m bench.profile hello me posts`.

Starts the product as `make bench` does (no peer, no floor), drives each workload with wrk
while py-spy samples the worker (gunicorn's, or Granian's with --server granian), and
prints where the time goes: the share of samples in which each frame appears (inclusive),
grouped by function and by package.
The collapsed stacks stay in bench/results/<time>/profile-<workload>.txt for flame graphs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.load import ensure_wrk, run_wrk
from bench.run import Bench, default_out, parse_args
from bench.workloads import by_id

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


def inclusive_shares(stacks: Path, depth_key: str = "function") -> tuple[int, Counter[str]]:
    """Samples in total, and per frame the number of samples it appears in."""
    total, seen = 0, Counter[str]()
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue  # py-spy sometimes writes a torn line when it reads a frame mid-update
        n = int(count)
        total += n
        frames = {_frame_key(f, depth_key) for f in stack.split(";") if f}
        for frame in frames:
            seen[frame] += n
    return total, seen


def _frame_key(frame: str, how: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    if how == "package":
        marker = "site-packages/"
        return path.split(marker, 1)[1].split("/", 1)[0] if marker in path else Path(path).name
    return f"{name} ({Path(path).parent.name}/{Path(path).name})"


def profile(bench: Bench, workload_id: str, seconds: float, out: Path) -> Path:
    """Record the worker with py-spy while wrk drives one workload."""
    target = bench.lineup.targets[0]
    workload = by_id([workload_id])[0]
    stacks = out / f"profile-{workload_id}.txt"
    record = [PY_SPY, "record", "--format", "raw", "-r", "250", "-d", str(int(seconds))]
    record += ["--nonblocking", "-o", str(stacks), "--pid", str(target.worker_pid())]
    if bench.args.gil:
        record.append("--gil")
    spy = subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_wrk(
        bench.measurer.wrk(target, workload, seconds, bench.args.connections),
        bench.cases.request(target, workload),
    )
    spy.wait(30)
    return stacks


def show(stacks: Path, top: int) -> None:
    """Print the heaviest frames and packages."""
    for how in ("package", "function"):
        total, seen = inclusive_shares(stacks, how)
        print(f"   -- by {how} ({total} samples; % of samples the frame is on the stack)")
        for frame, n in seen.most_common(top):
            print(f"   {100 * n / total:5.1f}%  {frame}")


def main() -> int:
    """Profile the workloads named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--wall", action="store_true", help="all threads, not only the GIL holder")
    parser.add_argument("--server", choices=["gunicorn", "granian"], default="gunicorn")
    own = parser.parse_args()
    only = ["--no-floor", "--no-plans-off", "--servers", own.server]
    args = parse_args([*only, "--workloads", ",".join(own.workloads)])
    args.gil = not own.wall
    out = default_out()
    bench = Bench(args, ensure_wrk(), out)
    try:
        bench.prepare()
        for workload_id in own.workloads:
            print(f"== {workload_id}", flush=True)
            show(profile(bench, workload_id, own.seconds, out), own.top)
    finally:
        bench.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
