"""Driving a server with wrk and watching what it costs: CPU, peak RSS, noise from others."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Processes that belong to a benchmark case, so their CPU is not counted as disturbance.
OWN_COMMS = frozenset({"wrk", "postgres", "redis-server"})


def ensure_wrk() -> str:
    """Path of wrk; installs the Debian package when running as root, else explains."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("== wrk is missing: apt-get install -y wrk", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
            subprocess.run(install, env=env, check=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit(
            "bench needs wrk (HTTP load generator): `sudo apt-get install wrk` on Debian/Ubuntu"
        )
    return found


@dataclass
class Request:
    """What wrk sends: method, path, body file and cookie."""

    method: str
    path: str
    body_file: Path | None
    cookie: str | None


@dataclass
class Sample:
    """One wrk run against one server, with what the server and the machine did meanwhile."""

    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    non2xx: int = 0
    rss_mb: float = 0.0
    server_cpu: float = 0.0  # % of one core used by the server's processes
    core_other: float = 0.0  # % of the server's core used by anything else
    foreign_cpu: float = 0.0  # % of a core used by processes outside the benchmark
    cpu_us: float = 0.0  # server CPU per request, in microseconds: robust to others' noise
    extra: dict[str, float] = field(default_factory=dict)


def wrk_command(
    wrk: str, url: str, duration: float, connections: int, *, timeout: float, cpu: str | None
) -> list[str]:
    """The wrk command line (one thread, pinned to the load generator's core)."""
    prefix = ["taskset", "-c", cpu] if cpu else []
    seconds = max(1, round(duration))  # wrk takes whole seconds
    args = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={round(timeout)}s"]
    return [*prefix, *args, "-s", str(WRK_SCRIPT), url]


def wrk_env(request: Request) -> dict[str, str]:
    """The environment bench/wrk.lua reads."""
    env = {**os.environ, "METHOD": request.method, "COOKIE": request.cookie or ""}
    if request.body_file is not None:
        env["BODY_FILE"] = str(request.body_file)
    return env


def parse_result(output: str) -> dict[str, float]:
    """The RESULT line of bench/wrk.lua as numbers."""
    match = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no RESULT line:\n{output}")
    return {k: float(v) for k, v in (item.split("=") for item in match.group(1).split())}


def cpu_ticks(pids: list[int]) -> float:
    """CPU seconds used so far by these processes (all their threads)."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def core_busy(cpu: str | None) -> float:
    """Busy CPU seconds so far on one core (or the whole machine)."""
    name = f"cpu{cpu}" if cpu else "cpu"
    with open("/proc/stat") as stat:
        for line in stat:
            parts = line.split()
            if parts[0] == name:
                values = [int(v) for v in parts[1:]]
                idle = values[3] + values[4]
                return (sum(values[:8]) - idle) / CLK_TCK
    return 0.0


def foreign_ticks(own: set[int]) -> dict[int, int]:
    """CPU ticks used so far by each process that is not part of the benchmark."""
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in own:
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                raw = stat.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        if comm in OWN_COMMS or comm.startswith("redis-server"):
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return ticks


def foreign_delta(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds others used in between (processes that exited meanwhile are not seen)."""
    return sum(t - before.get(pid, 0) for pid, t in after.items()) / CLK_TCK


class RssSampler(threading.Thread):
    """Highest VmRSS of one process, sampled every 100 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._stop_event = pid, 0, threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self._stop_event.is_set():
            try:
                self.peak = max(self.peak, psutil.Process(self.pid).memory_info().rss)
            except psutil.NoSuchProcess:
                return
            self._stop_event.wait(0.1)

    def finish(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop_event.set()
        self.join()
        return self.peak / 2**20


@dataclass
class Meter:
    """Counters read before and after a case."""

    server_pids: list[int]
    own_pids: set[int]  # every server of the benchmark: their CPU is no disturbance
    cpu: str | None
    started: float = 0.0
    values: tuple[float, float] = (0.0, 0.0)
    others: dict[int, int] = field(default_factory=dict)

    def _read(self) -> tuple[float, float]:
        return cpu_ticks(self.server_pids), core_busy(self.cpu)

    def start(self) -> None:
        """Read the counters at the start of a case."""
        self.others = foreign_ticks({*self.own_pids, os.getpid()})
        self.started, self.values = time.monotonic(), self._read()

    def stop(self, sample: Sample) -> None:
        """Fill in the sample's CPU figures."""
        elapsed = max(time.monotonic() - self.started, 0.001)
        server, core = (b - a for a, b in zip(self.values, self._read(), strict=True))
        foreign = foreign_delta(self.others, foreign_ticks({*self.own_pids, os.getpid()}))
        sample.server_cpu = 100 * server / elapsed
        sample.cpu_us = 1e6 * server / sample.requests if sample.requests else 0.0
        sample.core_other = max(0.0, 100 * (core - server) / elapsed) if self.cpu else 0.0
        sample.foreign_cpu = 100 * foreign / elapsed


def run_wrk(command: list[str], request: Request) -> dict[str, float]:
    """Run wrk once and return its RESULT figures."""
    done = subprocess.run(
        command, env=wrk_env(request), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        print(done.stdout, done.stderr, file=sys.stderr)
        raise RuntimeError(f"wrk failed with {done.returncode}")
    return parse_result(done.stdout)


def to_sample(figures: dict[str, float]) -> Sample:
    """A Sample from wrk's figures."""
    errors = figures["connect"] + figures["read"] + figures["write"] + figures["timeouts"]
    return Sample(
        requests=int(figures["requests"]),
        rps=figures["rps"],
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        max_ms=figures["max_ms"],
        errors=int(errors + figures["non2xx"]),
        non2xx=int(figures["non2xx"]),
    )


def settle(pids: list[int], limit: float = 30) -> None:
    """Wait (at most ``limit`` s) until the server uses < 5% of a core: queued work is done."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_ticks(pids)
        time.sleep(0.5)
        if cpu_ticks(pids) - before < 0.025:
            return


def wait_quiet(limit: float, threshold: float = 25.0) -> float:
    """Wait (at most ``limit`` s) until the machine is <= threshold % busy; return that %."""
    deadline = time.monotonic() + limit
    while True:
        before = core_busy(None)
        time.sleep(1)
        busy = 100 * (core_busy(None) - before) / (psutil.cpu_count() or 1)
        if busy <= threshold or time.monotonic() >= deadline:
            return busy
