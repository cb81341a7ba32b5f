"""Medians over runs and the markdown tables the benchmark prints: one per workload, and the
two servers side by side."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.audit import Commands, SessionSize
from bench.load import Sample
from tests.support import SERVERS

KINDS = ("product", "noplans", "base", "flask", "floor", "peer")
KIND_LABELS = {"noplans": "product, plans off", "flask": "bare Flask", "floor": "raw WSGI floor"}
Results = dict[str, dict[str, list[Sample]]]


@dataclass
class Summary:
    """Medians (and worst cases) of one workload on one target."""

    runs: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float
    server_cpu: float
    core_other: float
    foreign_cpu: float
    spread: float  # (max - min) / median of req/s over the runs, in %
    cpu_us: float  # server CPU per request


def summarise(samples: list[Sample]) -> Summary:
    """Median figures over the runs; errors summed, RSS the highest seen."""
    rps = [s.rps for s in samples]
    median = statistics.median(rps)
    return Summary(
        runs=len(samples),
        rps=median,
        p50_ms=statistics.median(s.p50_ms for s in samples),
        p99_ms=statistics.median(s.p99_ms for s in samples),
        errors=sum(s.errors for s in samples),
        rss_mb=max(s.rss_mb for s in samples),
        server_cpu=statistics.median(s.server_cpu for s in samples),
        core_other=statistics.median(s.core_other for s in samples),
        foreign_cpu=statistics.median(s.foreign_cpu for s in samples),
        spread=100 * (max(rps) - min(rps)) / median if median else 0.0,
        cpu_us=statistics.median(s.cpu_us for s in samples),
    )


def split_name(name: str) -> tuple[str, str]:
    """`product@granian` -> (product, granian); `peer` -> (peer, node)."""
    kind, _, server = name.partition("@")
    return kind, server or "node"


def order_key(name: str) -> tuple[int, int]:
    """Table order: by kind, then gunicorn before granian."""
    kind, server = split_name(name)
    servers = (*SERVERS, "node")
    return KINDS.index(kind) if kind in KINDS else 99, servers.index(server)


@dataclass
class Report:
    """Everything a run found, ready to print."""

    labels: dict[str, str]
    results: Results
    commands: dict[str, dict[str, Commands]] = field(default_factory=dict)
    sessions: dict[str, SessionSize] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)

    def summary(self, workload: str, target: str) -> Summary | None:
        """The summary of one cell, or None when it was not measured."""
        samples = self.results.get(workload, {}).get(target)
        return summarise(samples) if samples else None

    def ratio(self, workload: str, mine: str, theirs: str, attr: str = "rps") -> float | None:
        """One target's figure divided by another's on a workload."""
        a, b = self.summary(workload, mine), self.summary(workload, theirs)
        if not a or not b or not getattr(b, attr):
            return None
        return float(getattr(a, attr) / getattr(b, attr))

    def workloads(self) -> list[tuple[str, str]]:
        """(id, label) of the measured workloads, in the benchmark's order."""
        return [(w, label) for w, label in self.labels.items() if w in self.results]

    def markdown(self, verdicts: list[str]) -> str:
        """The whole report."""
        parts = [*self.header, "", "## Servers side by side", "", self.side_by_side(), ""]
        parts += ["## Targets", "", *verdicts, ""]
        for workload, label in self.workloads():
            parts += [f"### {label}", "", self.workload_table(workload), ""]
        if self.sessions:
            parts += ["Bytes per session in Redis (`MEMORY USAGE`, value length):", ""]
            parts += [f"- {t}: {v}" for t, v in self.sessions.items()]
        return "\n".join(parts) + "\n"

    def side_by_side(self) -> str:
        """The product under each server against the peer and bare Flask on that server."""
        head = ["workload", "peer req/s"]
        for s in SERVERS:
            head += [f"{s} req/s", f"{s} p99 ms", f"{s}/peer", f"{s}/flask"]
        head += ["granian/gunicorn", "p99 ms peer", "plans on/off (gunicorn, granian)"]
        lines = [_row(head), _row(["---"] * len(head))]
        lines += [_row(self._side_cells(w, label)) for w, label in self.workloads()]
        return "\n".join(lines)

    def _side_cells(self, workload: str, label: str) -> list[str]:
        peer = self.summary(workload, "peer")
        cells = [label, _fmt(peer.rps if peer else None, "{:.0f}")]
        for s in SERVERS:
            mine = self.summary(workload, f"product@{s}")
            cells += [_fmt(mine.rps if mine else None, "{:.0f}")]
            cells += [_fmt(mine.p99_ms if mine else None, "{:.1f}")]
            cells += [_fmt(self.ratio(workload, f"product@{s}", "peer"), "{:.2f}")]
            cells += [_fmt(self.ratio(workload, f"product@{s}", f"flask@{s}"), "{:.2f}")]
        speedup = self.ratio(workload, "product@granian", "product@gunicorn")
        plans = [self.ratio(workload, f"product@{s}", f"noplans@{s}") for s in SERVERS]
        cells += [_fmt(speedup, "{:.2f}"), _fmt(peer.p99_ms if peer else None, "{:.1f}")]
        return [*cells, ", ".join(_fmt(p, "{:.2f}") for p in plans)]

    def workload_table(self, workload: str) -> str:
        """Every target on one workload, with its ratios to the peer and to bare Flask."""
        head = ["target", "server", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "errors"]
        head += ["peak RSS MB", "spread %", "other on core %", "Redis cmds/req", "vs peer"]
        head.append("p99 vs peer")
        head.append("vs bare Flask (same server)")
        lines = [_row(head), _row(["---"] * len(head))]
        for name in sorted(self.results[workload], key=order_key):
            lines.append(_row(self._target_cells(workload, name)))
        return "\n".join(lines)

    def _target_cells(self, workload: str, name: str) -> list[str]:
        s = summarise(self.results[workload][name])
        kind, server = split_name(name)
        commands = self.commands.get(workload, {}).get(name)
        cells = [KIND_LABELS.get(kind, kind), server, f"{s.rps:.0f}", f"{s.p50_ms:.1f}"]
        cells += [f"{s.p99_ms:.1f}", f"{s.cpu_us:.0f}", str(s.errors), f"{s.rss_mb:.0f}"]
        cells += [f"{s.spread:.0f}", f"{s.core_other:.0f}", str(commands) if commands else "-"]
        cells.append(_fmt(self.ratio(workload, name, "peer"), "{:.2f}"))
        cells.append(_fmt(self.ratio(workload, name, "peer", "p99_ms"), "{:.2f}"))
        cells.append(_fmt(self.ratio(workload, name, f"flask@{server}"), "{:.2f}"))
        return cells


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
