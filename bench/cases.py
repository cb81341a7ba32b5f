"""What each target is sent for each workload, whether it answers correctly, and the resets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.client import Client, gql_body
from bench.lineup import Lineup
from bench.load import Request
from bench.targets import Target
from bench.workloads import Workload, by_id


class Cases:
    """Bodies, cookies and sanity checks of the workloads on the run's targets."""

    def __init__(self, lineup: Lineup, workloads: list[Workload], out: Path) -> None:
        self.lineup, self.workloads = lineup, workloads
        self.redis, self.postgres = lineup.redis, lineup.postgres
        self.bodies = _write_bodies([*workloads, *by_id(["hello", "login"])], out / "bodies")

    def cookie(self, target: Target, workload: Workload) -> str | None:
        """The cookie a workload sends to a target."""
        if workload.no_snapshot:  # the floors read the first product's records
            cookies = self.lineup.no_snapshot_cookies
            return cookies.get(target.name, cookies[self.lineup.product().name])
        return target.cookie if workload.logged_in else None

    def request(self, target: Target, workload: Workload) -> Request:
        """What wrk sends for a workload."""
        body = self.bodies.get(workload.id)
        return Request(workload.method, workload.path, body, self.cookie(target, workload))

    def send(self, client: Client, target: Target, workload: Workload) -> tuple[int, object]:
        """One request of a workload through a keep-alive client."""
        request = self.request(target, workload)
        body = request.body_file.read_bytes() if request.body_file else None
        status, _, data = client.request(request.method, request.path, body, request.cookie)
        return status, json.loads(data)

    def check_answers(self) -> None:
        """Every target answers every workload correctly before anything is timed."""
        print("== checking answers", flush=True)
        self.reset_rate_limits()
        for target in self.lineup.targets:
            client = Client(target.port)
            for w in self.workloads:
                if not applies(target, w):
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
        for database, max_id in self.lineup.seed_max_id.items():
            self.postgres.execute(database, "DELETE FROM post WHERE id > %s", max_id)


def applies(target: Target, workload: Workload) -> bool:
    """Whether a target can answer a workload."""
    return target.kind in workload.targets


def _write_bodies(workloads: list[Workload], bodies: Path) -> dict[str, Path]:
    bodies.mkdir(parents=True, exist_ok=True)
    paths = {}
    for w in workloads:
        if w.query is not None:
            path = bodies / f"{w.id}.json"
            path.write_bytes(gql_body(w.query, w.variables))
            paths[w.id] = path
    return paths
