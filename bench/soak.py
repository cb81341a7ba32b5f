"""Soak under faults: mixed traffic through gunicorn (or Granian) while Redis and workers fail.

Starts its own redis-server, a PostgreSQL database (its own cluster, else a scratch
database on the shared server) and the server with 2 workers, all on 127.0.0.1. Several
threads register, log in, read ``me``, create posts, list posts and log out, while a
schedule stops and restarts Redis (keeping its data, then empty) and SIGKILLs workers.

Prints requests and errors by status, the longest span without a successful request
that needed Redis, the recovery after each fault, and a final audit: every user and post
acknowledged with a 2xx is in the database, no register answered 503 left a user behind,
and no 5xx other than 503 happened. Exit status 1 if the audit fails.

    .venv/bin/python -m bench.soak [--duration 75] [--threads 8] [--server granian]
    (or: make soak [SERVER=granian])
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Any

import psutil
import psycopg

from tests.support import (
    SERVERS,
    ClusterUnavailable,
    HttpClient,
    PostgresCluster,
    RedisProcess,
    app_env,
    app_server,
    scratch_database,
    worker_pids,
)

PASSWORD = "correct horse battery"
REGISTER = (
    "mutation R($u: String!, $p: String!) { register(options: {username: $u, password: $p})"
    " { errors { field } user { id } } }"
)
LOGIN = (
    "mutation L($u: String!, $p: String!) { login(options: {username: $u, password: $p})"
    " { errors { field } user { id } } }"
)
ME = "{ me { id username } }"
CREATE_POST = "mutation C($t: String!) { createPost(title: $t) { id title creatorId } }"
POSTS = "{ posts(limit: 20) { id title } }"
LOGOUT = "mutation { logout }"
NEEDS_REDIS = {"register", "login", "me", "createPost", "logout"}
SERVED = {"ok", "anonymous"}  # Redis answered (anonymous: the session was gone)
BACKOFF = 0.1  # seconds a client waits after a 5xx or a broken connection


@dataclass
class Record:
    """One request: when, what, and how it ended."""

    start: float
    end: float
    op: str
    outcome: str  # "ok", "anonymous" (session lost), "HTTP <status> <code>", "conn <error>"


@dataclass
class Ledger:
    """Everything the traffic threads saw, and what the server acknowledged."""

    records: list[Record] = field(default_factory=list)
    users: dict[str, int] = field(default_factory=dict)  # acknowledged username -> id
    posts: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (title, creator)
    unavailable_registers: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record) -> None:
        """Keep one request's record."""
        with self.lock:
            self.records.append(record)


def random_address(rng: random.Random) -> str:
    """A client address in 10.0.0.0/8."""
    return "10." + ".".join(str(rng.randrange(256)) for _ in range(3))


class VirtualUser:
    """One browser: a cookie jar and a small state machine over the API."""

    def __init__(self, base_url: str, ledger: Ledger, rng: random.Random) -> None:
        self.http = HttpClient(base_url, timeout=10)
        self.ledger = ledger
        self.rng = rng
        self.username = f"soak_{secrets.token_hex(4)}"
        self.address = random_address(rng)
        self.user_id: int | None = None
        self.logged_in = False
        self.failing = False

    def step(self) -> None:
        """Do the next sensible thing; after a failure wait a little first, as clients do."""
        if self.failing:
            time.sleep(BACKOFF)
        if self.user_id is None:
            self.register()
        elif not self.logged_in:
            self.login()
        else:
            choice = self.rng.random()
            if choice < 0.02:
                self.become_someone_new()
            elif choice < 0.35:
                self.me()
            elif choice < 0.65:
                self.create_post()
            elif choice < 0.95:
                self.call("posts", POSTS)
            else:
                self.logout()

    def call(self, op: str, query: str, **variables: Any) -> tuple[dict[str, Any] | None, Record]:
        """Send one operation and record it; the data of a 200 answer without errors."""
        start = time.monotonic()
        try:
            status, body = self.post(query, variables)
        except (urllib.error.URLError, HTTPException, ConnectionError, TimeoutError) as error:
            record = Record(start, time.monotonic(), op, f"conn {type(error).__name__}")
            self.ledger.add(record)
            self.failing = True
            return None, record
        errors = body.get("errors") or []
        code = errors[0].get("extensions", {}).get("code", "") if errors else ""
        ok = status == 200 and not errors
        record = Record(start, time.monotonic(), op, "ok" if ok else f"HTTP {status} {code}")
        self.ledger.add(record)
        self.failing = status >= 500 or status == 429
        if op == "register" and status == 503:
            with self.ledger.lock:
                self.ledger.unavailable_registers.add(variables["u"])
        if code == "UNAUTHENTICATED":
            self.logged_in = False  # the session was lost (Redis restarted empty)
        return (body.get("data") if ok else None), record

    def post(self, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST the operation as if through the proxy, from an address of this user's own.

        The service rate-limits logins and registrations per client address; the soak is
        many users, not one address hammering the login form.
        """
        body = json.dumps({"query": query, "variables": variables}).encode()
        headers = {"Content-Type": "application/json", "X-Forwarded-For": self.address}
        status, _, data = self.http.request("POST", "/graphql", body, headers)
        answer: dict[str, Any] = json.loads(data)
        return status, answer

    def register(self) -> None:
        """Register (a new name after an unknown outcome, so the audit stays exact)."""
        data, _ = self.call("register", REGISTER, u=self.username, p=PASSWORD)
        if data and data["register"]["user"]:
            self.user_id = int(data["register"]["user"]["id"])
            self.logged_in = True
            with self.ledger.lock:
                self.ledger.users[self.username] = self.user_id
        elif data is None:
            self.username = f"soak_{secrets.token_hex(4)}"

    def login(self) -> None:
        """Log in again (from another address: per-address login limits are not the subject)."""
        self.address = random_address(self.rng)
        data, _ = self.call("login", LOGIN, u=self.username, p=PASSWORD)
        self.logged_in = bool(data and data["login"]["user"])

    def me(self) -> None:
        """Who am I; a null answer means the session was lost (Redis restarted empty)."""
        data, record = self.call("me", ME)
        if data is not None and data["me"] is None:
            record.outcome = "anonymous"
            self.logged_in = False

    def create_post(self) -> None:
        """Create a post; remember it only if the server acknowledged it."""
        title = f"{self.username} {secrets.token_hex(3)}"
        data, _ = self.call("createPost", CREATE_POST, t=title)
        if data:
            post = data["createPost"]
            with self.ledger.lock:
                self.ledger.posts[int(post["id"])] = (post["title"], post["creatorId"])

    def become_someone_new(self) -> None:
        """Forget this identity; the next step registers a new user."""
        self.username = f"soak_{secrets.token_hex(4)}"
        self.address = random_address(self.rng)
        self.user_id = None
        self.logged_in = False

    def logout(self) -> None:
        """Log out."""
        data, _ = self.call("logout", LOGOUT)
        if data:
            self.logged_in = False


@dataclass
class Fault:
    """A fault the schedule injected, when, and what it did."""

    at: float
    name: str
    done_at: float = 0.0
    recovers: bool = False  # after this fault's action, everything should work again


def run_schedule(
    duration: float, redis: RedisProcess, master: int, stop: threading.Event
) -> list[Fault]:
    """Inject the faults at fixed fractions of the run; return what was done, when."""
    begin = time.monotonic()
    plan: list[tuple[float, str, Callable[[], object], bool]] = [
        (0.15, "redis stopped (data saved)", lambda: redis.shutdown(save=True), False),
        (0.20, "redis started with its data", redis.start, True),
        (0.40, "worker SIGKILLed", lambda: kill_a_worker(master), True),
        (0.60, "redis stopped (no data)", lambda: redis.shutdown(save=False), False),
        (0.65, "redis started empty", redis.start, True),
        (0.80, "worker SIGKILLed", lambda: kill_a_worker(master), True),
    ]
    done: list[Fault] = []
    for fraction, name, action, recovers in plan:
        if stop.wait(max(0.0, begin + fraction * duration - time.monotonic())):
            break
        fault = Fault(time.monotonic(), name, recovers=recovers)
        action()
        fault.done_at = time.monotonic()
        done.append(fault)
    return done


def kill_a_worker(master: int) -> None:
    """SIGKILL one of the master's workers."""
    workers = psutil.Process(master).children()
    if workers:
        os.kill(workers[0].pid, signal.SIGKILL)


@contextmanager
def database(workdir: Path) -> Iterator[tuple[str, str]]:
    """A database for the run: (url, where) on its own cluster, else on the shared server."""
    try:
        cluster = PostgresCluster.create()
        cluster.start()
    except (ClusterUnavailable, OSError) as error:
        shared = os.environ.get(
            "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
        with scratch_database(shared, prefix="soak") as url:
            yield url, f"scratch database on the shared server ({error})"
        return
    try:
        with scratch_database(cluster.url(), prefix="soak") as url:
            yield url, f"own PostgreSQL cluster on port {cluster.port}"
    finally:
        cluster.destroy()


def traffic(base_url: str, threads: int, duration: float, ledger: Ledger, seed: int) -> None:
    """Drive ``threads`` virtual users for ``duration`` seconds."""
    deadline = time.monotonic() + duration

    def run(index: int) -> None:
        rng = random.Random(seed + index)
        user = VirtualUser(base_url, ledger, rng)
        while time.monotonic() < deadline:
            user.step()

    pool = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(duration + 30)


def longest_outage(records: list[Record], begin: float, end: float) -> tuple[float, float]:
    """Longest span (seconds, start offset) with no successful request that needed Redis."""
    ends = sorted(r.end for r in records if r.op in NEEDS_REDIS and r.outcome in SERVED)
    points = [begin, *ends, end]
    gaps = [(b - a, a - begin) for a, b in itertools.pairwise(points)]
    return max(gaps) if gaps else (end - begin, 0.0)


def recovery(records: list[Record], faults: list[Fault], end: float) -> list[str]:
    """Per fault: time to the next success needing Redis, and failures once it was over.

    "Failed after" counts requests that started once the fault's action had completed
    (Redis running again, or the worker already dead) and ended before the next fault.
    """
    lines = []
    for index, fault in enumerate(faults):
        until = faults[index + 1].at if index + 1 < len(faults) else end
        later = [
            r.end
            for r in records
            if r.op in NEEDS_REDIS and r.outcome in SERVED and r.start >= fault.done_at
        ]
        after = f"{min(later) - fault.done_at:5.2f} s" if later else "never"
        line = f"  {fault.name:<28} next success needing Redis after {after}"
        if fault.recovers:
            failed = [
                r
                for r in records
                if fault.done_at <= r.start
                and r.end < until
                and r.outcome not in SERVED
                and "UNAUTHENTICATED" not in r.outcome
            ]
            line += f"; failed after: {len(failed)}"
            line += "".join(
                f"\n      +{r.start - fault.done_at:.3f} s {r.op} {r.outcome} "
                f"({(r.end - r.start) * 1000:.0f} ms)"
                for r in failed[:5]
            )
        lines.append(line)
    return lines


def latency(records: list[Record]) -> str:
    """p50 / p99 / max of served requests, in milliseconds."""
    times = sorted((r.end - r.start) * 1000 for r in records if r.outcome in SERVED)
    if not times:
        return "no served requests"
    p50, p99 = (times[min(len(times) - 1, int(q * len(times)))] for q in (0.5, 0.99))
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {times[-1]:.1f} ms"


def audit(url: str, ledger: Ledger) -> list[str]:
    """Problems found by reading the database directly (empty: all good)."""
    problems = []
    with psycopg.connect(url, connect_timeout=5) as conn:
        users: dict[str, int] = dict(conn.execute('SELECT username, id FROM "user"').fetchall())
        posts = {
            row[0]: (row[1], row[2])
            for row in conn.execute("SELECT id, title, creator_id FROM post").fetchall()
        }
    for username, user_id in ledger.users.items():
        if users.get(username) != user_id:
            problems.append(f"acknowledged user {username} ({user_id}) missing")
    for post_id, post in ledger.posts.items():
        if posts.get(post_id) != post:
            problems.append(f"acknowledged post {post_id} missing or changed")
    for username in ledger.unavailable_registers & set(users):
        problems.append(f"register of {username} answered 503 but left a user row")
    statuses = Counter(r.outcome for r in ledger.records)
    for outcome, count in statuses.items():
        if outcome.startswith(("HTTP 5", "HTTP 429")) and not outcome.startswith("HTTP 503"):
            problems.append(f"{count} answers {outcome}")
    return problems


def report(ledger: Ledger, faults: list[Fault], begin: float, end: float, url: str) -> bool:
    """Print the summary and the audit; True when the audit passed."""
    records = ledger.records
    outcomes = Counter(r.outcome for r in records)
    by_op = Counter((r.op, r.outcome) for r in records)
    gap, offset = longest_outage(records, begin, end)
    print(f"requests: {len(records)} in {end - begin:.1f} s ({len(records) / (end - begin):.0f}/s)")
    print("outcomes: " + ", ".join(f"{o}={n}" for o, n in outcomes.most_common()))
    print("errors by operation:")
    for (op, outcome), count in sorted(by_op.items()):
        if outcome not in ("ok", "anonymous"):
            print(f"  {op:<11} {outcome:<28} {count}")
    print("faults:")
    for fault in faults:
        print(f"  t={fault.at - begin:6.2f} s  {fault.name}")
    print("recovery:")
    print("\n".join(recovery(records, faults, end)))
    print(f"latency of served requests: {latency(records)}")
    print(f"longest outage (no successful request needing Redis): {gap:.2f} s at t={offset:.1f} s")
    lost = sum(n for o, n in outcomes.items() if o == "anonymous" or "UNAUTHENTICATED" in o)
    print(f"sessions found lost after the empty restart (then logged in again): {lost}")
    problems = audit(url, ledger)
    print(
        f"audit: {len(ledger.users)} users and {len(ledger.posts)} posts acknowledged, "
        f"{len(ledger.unavailable_registers)} registers answered 503"
    )
    for problem in problems[:20]:
        print(f"  FAIL {problem}")
    print("audit: PASS" if not problems else f"audit: FAIL ({len(problems)} problems)")
    return not problems


def soak(duration: float, threads: int, seed: int, kind: str = "gunicorn") -> bool:
    """Run the whole soak; True when the audit passed."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        (workdir / "redis").mkdir()
        redis = RedisProcess(workdir / "redis")
        redis.start()
        stack.callback(redis.close)
        url, where = stack.enter_context(database(workdir))
        env = app_env(
            workdir,
            url,
            redis.url,
            ARGON2_MEMORY_COST="8192",
            TRUSTED_PROXIES="1",  # the soak's users send X-Forwarded-For, as the proxy would
        )
        server = stack.enter_context(app_server(kind, env, workdir))
        worker_pids(server.process.pid, 2)
        print(
            f"soak: {duration:.0f} s, {threads} threads, {kind} 2 workers x 4 threads, "
            f"redis-server on port {redis.port}, {where}"
        )
        ledger, stop = Ledger(), threading.Event()
        faults: list[Fault] = []
        injector = threading.Thread(
            target=lambda: faults.extend(run_schedule(duration, redis, server.process.pid, stop))
        )
        begin = time.monotonic()
        injector.start()
        traffic(server.base_url, threads, duration, ledger, seed)
        end = time.monotonic()
        stop.set()
        injector.join(30)
        passed = report(ledger, faults, begin, end, url)
        print_connections(server.process.pid, redis, url)
        return passed
    return False


def print_connections(master: int, redis: RedisProcess, url: str) -> None:
    """Connections the app holds at the end, per service."""
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        (backends,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchone() or (0,)
    workers = len(psutil.Process(master).children())
    print(
        f"end state: {workers} workers, {len(redis.app_clients())} Redis connections, "
        f"{backends} PostgreSQL backends"
    )


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=75, help="seconds of traffic")
    parser.add_argument("--threads", type=int, default=8, help="virtual users")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server", choices=SERVERS, default="gunicorn")
    args = parser.parse_args()
    duration = max(10.0, min(args.duration, 600.0))
    passed = soak(duration, max(1, min(args.threads, 32)), args.seed, args.server)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
