"""Medians over runs and the markdown tables the benchmark prints."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.load import Sample

TARGETS = ("product", "base", "peer", "floor", "flask")
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


@dataclass
class Report:
    """Everything a run found, ready to print."""

    labels: dict[str, str]
    results: Results
    commands: dict[str, dict[str, str]] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)

    def summary(self, workload: str, target: str) -> Summary | None:
        """The summary of one cell, or None when it was not measured."""
        samples = self.results.get(workload, {}).get(target)
        return summarise(samples) if samples else None

    def targets(self) -> list[str]:
        """Targets that appear in the results, in table order."""
        seen = {t for per in self.results.values() for t in per}
        return [t for t in TARGETS if t in seen]

    def markdown(self) -> str:
        """The whole report."""
        parts = [*self.header, "", self.throughput_table(), "", self.cost_table(), ""]
        if self.sessions:
            parts += ["Bytes per session in Redis (`MEMORY USAGE`, value length):", ""]
            parts += [f"- {t}: {v}" for t, v in self.sessions.items()]
        return "\n".join(parts) + "\n"

    def throughput_table(self) -> str:
        """req/s, p50 and p99 per target, and the ratios."""
        targets = self.targets()
        head = ["workload"]
        for t in targets:
            head += [f"{t} req/s", f"{t} p50 ms", f"{t} p99 ms"]
        head += [f"product/{t}" for t in targets if t != "product"]
        head += [f"p99 product/{t}" for t in targets if t in {"base", "peer"}]
        lines = [_row(head), _row(["---"] * len(head))]
        for workload, label in self.labels.items():
            if workload not in self.results:
                continue
            cells = [label]
            for t in targets:
                s = self.summary(workload, t)
                cells += [f"{s.rps:.0f}", f"{s.p50_ms:.1f}", f"{s.p99_ms:.1f}"] if s else ["-"] * 3
            cells += [self.ratio(workload, t) for t in targets if t != "product"]
            cells += [self.ratio(workload, t, "p99_ms") for t in targets if t in {"base", "peer"}]
            lines.append(_row(cells))
        return "\n".join(lines)

    def ratio(self, workload: str, other: str, attr: str = "rps") -> str:
        """The product's figure divided by another target's."""
        mine, theirs = self.summary(workload, "product"), self.summary(workload, other)
        if not mine or not theirs or not getattr(theirs, attr):
            return "-"
        return f"{getattr(mine, attr) / getattr(theirs, attr):.2f}"

    def cost_table(self) -> str:
        """Errors, peak RSS, CPU, noise and Redis commands per request."""
        targets = self.targets()
        head = ["workload", "errors", "peak RSS MB", "server CPU %", "CPU µs/req"]
        head += ["other on its core %"]
        head += ["foreign CPU %", "req/s spread %", "Redis cmds/req"]
        lines = [
            _row(head),
            _row(["---"] * len(head)),
            f"| (each cell: {' / '.join(targets)}) |" + " |" * (len(head) - 1),
        ]
        for workload, label in self.labels.items():
            if workload not in self.results:
                continue
            cells = [label]
            for attr, fmt in (
                ("errors", "{:d}"),
                ("rss_mb", "{:.0f}"),
                ("server_cpu", "{:.0f}"),
                ("cpu_us", "{:.0f}"),
                ("core_other", "{:.0f}"),
                ("foreign_cpu", "{:.0f}"),
                ("spread", "{:.0f}"),
            ):
                cells.append(self._per_target(workload, targets, attr, fmt))
            per = self.commands.get(workload, {})
            cells.append(" / ".join(per.get(t, "-") for t in targets))
            lines.append(_row(cells))
        return "\n".join(lines)

    def _per_target(self, workload: str, targets: list[str], attr: str, fmt: str) -> str:
        values = []
        for t in targets:
            s = self.summary(workload, t)
            values.append(fmt.format(getattr(s, attr)) if s else "-")
        return " / ".join(values)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
