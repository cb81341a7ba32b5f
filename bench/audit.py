"""Exact Redis figures: commands per request (INFO commandstats) and bytes per session."""

from __future__ import annotations

from dataclasses import dataclass

from bench.cases import Cases, applies
from bench.client import Client
from bench.services import counter_delta
from bench.targets import Floor, Target
from bench.workloads import Workload


@dataclass(frozen=True)
class Commands:
    """Redis commands one request of a workload made, on average."""

    per_command: dict[str, float]

    @property
    def total(self) -> float:
        """All commands per request."""
        return sum(self.per_command.values())

    def __str__(self) -> str:
        detail = " ".join(f"{k.upper()}x{v:g}" for k, v in sorted(self.per_command.items()))
        return f"{self.total:g}" + (f" ({detail})" if detail else "")


@dataclass(frozen=True)
class SessionSize:
    """What one logged-in session costs in Redis."""

    usage: int | None  # MEMORY USAGE, bytes
    value: int  # the record's length
    key: str

    def __str__(self) -> str:
        return f"{self.usage} bytes (value {self.value} bytes, key `{self.key[:12]}…`)"


class RedisAudit:
    """Counts Redis commands per request on every target, and session sizes."""

    def __init__(self, cases: Cases) -> None:
        self.cases, self.redis = cases, cases.redis
        self.commands: dict[str, dict[str, Commands]] = {}
        self.sessions: dict[str, SessionSize] = {}

    def count_commands(self) -> None:
        """Commands per request: INFO commandstats deltas over sequential requests."""
        print("== Redis commands per request", flush=True)
        for w in self.cases.workloads:
            n = 3 if w.argon2 else 5 if w.mutates else 20
            for target in self.cases.lineup.targets:
                if applies(target, w):
                    self.commands.setdefault(w.id, {})[target.name] = self._count(target, w, n)
                    self.cases.restore_posts()

    def _count(self, target: Target, workload: Workload, n: int) -> Commands:
        self.cases.reset_rate_limits()
        client = Client(target.port)
        self.cases.send(client, target, workload)  # connections to Redis and the database exist
        before = self.redis.command_counts()
        for _ in range(n):
            self.cases.send(client, target, workload)
        delta = counter_delta(self.redis.command_counts(), before)
        client.close()
        return Commands({k: v / n for k, v in delta.items()})

    def measure_sessions(self) -> None:
        """Bytes per logged-in session in Redis, for the products and the peer."""
        for target in self.cases.lineup.targets:
            if isinstance(target, Floor) or target.cookie is None:
                continue
            key = target.session_key(target.cookie)
            usage = self.redis.memory_usage(key)
            self.sessions[target.name] = SessionSize(usage, self.redis.client.strlen(key), key)
