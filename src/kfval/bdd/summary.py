"""The end of a run on the console: what each scenario came to, and what to do next.

radish's own end report counts features, scenarios and steps. A QA engineer also wants, without
opening a report: each scenario's outcome and duration, the figure it judged against its threshold
(accuracy 0.9712 >= 0.9662), the run id, where the reports are, and, when cleanup left something in
the cluster, the command that removes it. Outcomes and durations are the reports' own (a failed
cleanup fails its scenario there, and here); the thresholds are what the steps checked
(`scenario.check_metric`), kept in the scenario's context.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfval.report import model

NOT_STARTED = "(not started)"


@dataclass(frozen=True)
class MetricCheck:
    """A figure a step compared with its threshold."""

    name: str
    value: float
    threshold: float
    at_least: bool
    """True: the value must reach the threshold (accuracy); False: stay below it (cross entropy)."""

    @property
    def met(self) -> bool:
        return self.value >= self.threshold if self.at_least else self.value < self.threshold

    def text(self) -> str:
        relation = ">=" if self.met == self.at_least else "<"
        return f"{self.name} {self.value:.4f} {relation} {self.threshold:.4f}"


def checks_of(scenario: Any) -> list[MetricCheck]:
    """The metric checks a radish scenario's steps recorded in its context."""
    found: list[MetricCheck] = getattr(scenario.context, "metric_checks", [])
    return found


def scenario_line(record: model.Scenario, checks: Sequence[MetricCheck]) -> str:
    """`  passed   14.2 s  <name> [workers=1] · accuracy 0.9712 >= 0.9662`."""
    status = record.status
    word = status.value.upper() if status in (model.Status.FAILED, model.Status.UNDEFINED) else status.value
    name = record.name
    if record.example is not None and not _named_by_its_row(record):
        name += (
            " ["
            + ", ".join(f"{h}={v}" for h, v in zip(record.example.header, record.example.values, strict=False))
            + "]"
        )
    seconds = record.duration_ns / model.NANOSECONDS_PER_SECOND
    return f"  {word:<7} {seconds:6.1f} s  " + " · ".join([name, *(check.text() for check in checks)])


def _named_by_its_row(record: model.Scenario) -> bool:
    """Whether the outline's name took the row's values (`<workers>` became `2`): the row needs no repeating.
    The scenario's id keeps the outline's own name, as Cucumber's does."""
    parts = record.id.split(";")
    return len(parts) > 1 and parts[1] != model.slug(record.name)


def render(
    scenarios: Iterable[tuple[Any, model.Scenario]],
    *,
    run_id: str | None,
    reports: Sequence[Path],
    cleanup_problems: Sequence[str],
) -> str:
    """The summary block: a headline, one line per scenario, the reports, the janitor command if needed."""
    pairs = list(scenarios)
    statuses = [record.status for _scenario, record in pairs]
    counts = ", ".join(f"{statuses.count(s)} {s.value}" for s in model.Status if statuses.count(s))
    lines = [f"kfval run {run_id or NOT_STARTED}: {len(pairs)} scenario(s)" + (f", {counts}" if counts else "")]
    lines += [scenario_line(record, checks_of(scenario)) for scenario, record in pairs]
    if reports:
        lines.append("reports: " + ", ".join(str(path) for path in reports))
    if cleanup_problems and run_id:
        lines.append(
            f"cleanup left {len(cleanup_problems)} problem(s) in the cluster; remove what the run left with: "
            f"kfval janitor --run-id {run_id}"
        )
    return "\n".join(lines)
