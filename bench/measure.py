"""The timed part of a run: wrk on every case of every target, interleaved, --runs times."""

from __future__ import annotations

import argparse
import subprocess
import time
from collections.abc import Callable

from bench.cases import Cases, applies
from bench.lineup import Lineup
from bench.load import (
    Meter,
    RssSampler,
    Sample,
    parse_result,
    run_wrk,
    settle,
    to_sample,
    wait_quiet,
    wrk_command,
    wrk_env,
)
from bench.targets import Target
from bench.workloads import HELLO_UNDER_LOGIN, HELLO_UNDER_LOGIN_KINDS, Workload, by_id

Results = dict[str, dict[str, list[Sample]]]


class Measurer:
    """Runs wrk against the targets and meters what the server spent meanwhile."""

    def __init__(self, args: argparse.Namespace, wrk: str, cpus: Cpus, cases: Cases) -> None:
        self.args, self.wrk_path, self.cpus, self.cases = args, wrk, cpus, cases
        self.lineup: Lineup = cases.lineup
        self.results: Results = {}

    def wrk(self, target: Target, workload: Workload, duration: float, conns: int) -> list[str]:
        """The wrk command line for one case."""
        url = f"http://127.0.0.1:{target.port}{workload.path}"
        timeout = 30 if workload.argon2 else 10
        return wrk_command(self.wrk_path, url, duration, conns, timeout=timeout, cpu=self.cpus.load)

    def warm_up(self) -> None:
        """A short run of every case (not reported): caches, pools, JIT."""
        print(f"== warm-up ({self.args.warmup:g} s per case)", flush=True)
        for w in self.cases.workloads:
            for target in self.lineup.targets:
                if applies(target, w):
                    duration = min(self.args.warmup, 2) if w.argon2 else self.args.warmup
                    command = self.wrk(target, w, duration, self.args.connections)
                    with self.cases.rate_limits_forgotten():
                        run_wrk(command, self.cases.request(target, w))
                    settle(self.lineup.all_pids())
            if w.mutates:
                self.cases.restore_posts()

    def measure(self, with_hello_under_login: bool) -> Results:
        """Every case on every target, interleaved (the order rotates each run), --runs times."""
        for run in range(self.args.runs):
            targets = self.lineup.targets
            order = targets[run % len(targets) :] + targets[: run % len(targets)]
            for w in self.cases.workloads:
                for target in order:
                    if applies(target, w):
                        self._record(run, w.id, target, self.case(target, w))
                if w.mutates:
                    self.cases.restore_posts()
            if with_hello_under_login:
                for target in order:
                    if target.kind in HELLO_UNDER_LOGIN_KINDS:
                        self._record(run, HELLO_UNDER_LOGIN, target, self.hello_under_login(target))
        return self.results

    def _record(self, run: int, workload: str, target: Target, sample: Sample) -> None:
        self.results.setdefault(workload, {}).setdefault(target.name, []).append(sample)
        _progress(run, workload, target.name, sample)

    def case(self, target: Target, workload: Workload) -> Sample:
        """One timed case, repeated (up to --max-tries) while others disturb the server's core."""
        best: Sample | None = None
        for _ in range(self.args.max_tries):
            with self.cases.rate_limits_forgotten():
                sample = self._timed(target, lambda: self._one_wrk(target, workload))
            if best is None or sample.core_other < best.core_other:
                best = sample
            if sample.core_other <= self.args.noise_limit:
                break
            print(f"   disturbed: {sample.core_other:.0f}% of the server's core used by others")
        assert best is not None
        return best

    def _one_wrk(self, target: Target, workload: Workload, conns: int | None = None) -> Sample:
        command = self.wrk(target, workload, self.args.duration, conns or self.args.connections)
        return to_sample(run_wrk(command, self.cases.request(target, workload)))

    def _timed(self, target: Target, body: Callable[[], Sample]) -> Sample:
        settle(self.lineup.all_pids())  # e.g. argon2 work queued by a previous login case
        wait_quiet(self.args.idle_wait)
        meter = Meter(target.pids(), set(self.lineup.all_pids()), self.cpus.server)
        sampler = RssSampler(target.worker_pid())
        sampler.start()
        meter.start()
        sample = body()
        meter.stop(sample)
        sample.rss_mb = sampler.finish()
        return sample

    def hello_under_login(self, target: Target) -> Sample:
        """`{ hello }` on 12 connections while 4 connections log in without pause."""
        hello, login = by_id(["hello", "login"])
        login_cmd = self.wrk(target, login, self.args.duration + 2, 4)

        def both() -> Sample:
            login_env = wrk_env(self.cases.request(target, login))
            with self.cases.rate_limits_forgotten():
                background = subprocess.Popen(
                    login_cmd, env=login_env, stdout=subprocess.PIPE, text=True
                )
                time.sleep(1)
                sample = self._one_wrk(target, hello, 12)
                output, _ = background.communicate(timeout=self.args.duration + 60)
            sample.extra["login_rps"] = parse_result(output)["rps"]
            return sample

        return self._timed(target, both)


class Cpus:
    """Where the servers and wrk run: core 0 and core 1 when there are two."""

    def __init__(self, count: int) -> None:
        several = count >= 2
        self.server: str | None = "0" if several else None
        self.load: str | None = "1" if several else None


def _progress(run: int, workload: str, target: str, s: Sample) -> None:
    extra = "".join(f" {k}={v:.1f}" for k, v in s.extra.items())
    print(
        f"   run {run + 1} {workload:<18} {target:<17} {s.rps:7.0f} req/s  p50 {s.p50_ms:6.1f}"
        f"  p99 {s.p99_ms:6.1f} ms  err {s.errors}  {s.cpu_us:5.0f} µs/req"
        f"  other {s.core_other:3.0f}%  rss {s.rss_mb:.0f} MB{extra}",
        flush=True,
    )
