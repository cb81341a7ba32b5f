"""The targets of issue 10 item 4, checked against a run's medians: met / not met per line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.report import Report
from bench.workloads import HELLO_UNDER_LOGIN

HEADLINE = ("hello", "me", "create_post")
SESSION_BYTES = 120


@dataclass(frozen=True)
class Goal:
    """One target: a name, and the figure compared against a limit."""

    text: str
    measure: Callable[[Report], float | None]
    test: Callable[[float], bool]

    def verdict(self, report: Report) -> str:
        """`- text: figure -> met / not met / not measured`."""
        value = self.measure(report)
        if value is None:
            return f"- {self.text}: not measured"
        met = self.test(value)
        return f"- {self.text}: {value:.2f} -> {'met' if met else '**not met**'}"


def _rps(workload: str, mine: str, theirs: str, factor: float) -> Goal:
    text = f"{mine} >= {factor:g}x {theirs} req/s on {workload}"
    return Goal(text, lambda r: r.ratio(workload, mine, theirs), lambda v: v >= factor)


def _p99(workload: str, mine: str) -> Goal:
    text = f"{mine} p99 <= peer's on {workload} (ratio)"
    return Goal(text, lambda r: r.ratio(workload, mine, "peer", "p99_ms"), lambda v: v <= 1.0)


def _commands(workload: str, name: str, expected: float) -> Goal:
    def total(r: Report) -> float | None:
        found = r.commands.get(workload, {}).get(name)
        return found.total if found else None

    text = f"{name}: Redis commands per {workload} request == {expected:g}"
    return Goal(text, total, lambda v: v == expected)


def _session_bytes(name: str) -> Goal:
    def usage(r: Report) -> float | None:
        found = r.sessions.get(name)
        return float(found.usage) if found and found.usage is not None else None

    text = f"{name}: bytes per session <= {SESSION_BYTES}"
    return Goal(text, usage, lambda v: v <= SESSION_BYTES)


def goals() -> list[Goal]:
    """Every target of the issue, for both servers."""
    found = [_rps(w, "product@granian", "peer", 2.0) for w in HEADLINE]
    found += [_p99(w, "product@granian") for w in HEADLINE]
    found.append(_rps(HELLO_UNDER_LOGIN, "product@granian", "peer", 10.0))
    found += [_rps(w, "product@gunicorn", "peer", 1.0) for w in HEADLINE]
    for server in ("gunicorn", "granian"):
        found += [_rps(w, f"product@{server}", f"flask@{server}", 0.6) for w in ("hello", "me")]
        name = f"product@{server}"
        found += [_commands("me", name, 1), _commands("me_anon", name, 0)]
        found.append(_session_bytes(f"product@{server}"))
    return found


def verdicts(report: Report) -> list[str]:
    """One line per target."""
    return [goal.verdict(report) for goal in goals()]
