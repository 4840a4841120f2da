"""One small summary per run in `reports/history/`, so the HTML page can show how metrics and the
suite's duration move across runs (accuracy drifting, an operator getting slower).

A summary is a JSON file named after the run's start, rewritten whenever the reports are: a killed
run leaves the summary of what it finished. Metrics are keyed by scenario name and metric name, the
names a QA engineer reads, which stay the same from run to run (outline rows carry their values).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kfval.report import measures, model

DEFAULT_RUNS = 20
"""How many runs the trend shows by default (the latest ones)."""
SUITE_DURATION = "suite duration (s)"


class HistoryError(ValueError):
    """A file of the history folder is not a run summary; the message names it."""


@dataclass(frozen=True)
class Summary:
    """What the trend needs of one run: when it started, how long its scenarios took, its metrics."""

    started_at: str
    duration_seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return self.started_at.replace(":", "").replace("-", "").replace("+0000", "Z") + ".json"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def metric_key(scenario: model.Scenario, metric: measures.Metric) -> str:
    return f"{scenario.name}: {metric.name}"


def summarize(run: model.Run) -> Summary:
    """The run's summary; a run without a start time is dated now."""
    started = run.started_at or datetime.now(UTC)
    scenarios = [scenario for feature in run.features for scenario in feature.scenarios]
    counts: dict[str, int] = {}
    metrics: dict[str, float] = {}
    for scenario in scenarios:
        counts[str(scenario.status)] = counts.get(str(scenario.status), 0) + 1
        for metric in measures.of_scenario(scenario):
            metrics[metric_key(scenario, metric)] = metric.value
    duration = sum(scenario.duration_ns for scenario in scenarios) / model.NANOSECONDS_PER_SECOND
    return Summary(started.astimezone(UTC).isoformat(timespec="seconds"), round(duration, 3), counts, metrics)


def parse(text: str, *, source: str) -> Summary:
    try:
        document = json.loads(text)
        return Summary(
            str(document["started_at"]),
            float(document["duration_seconds"]),
            {str(k): int(v) for k, v in (document.get("counts") or {}).items()},
            {str(k): float(v) for k, v in (document.get("metrics") or {}).items()},
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise HistoryError(f"{source} is not a kfval run summary: {error}") from error


def load(folder: Path) -> list[Summary]:
    """Every summary in the folder, oldest first; none when the folder does not exist."""
    if not folder.is_dir():
        return []
    found = [parse(path.read_text(encoding="utf-8"), source=str(path)) for path in folder.glob("*.json")]
    return sorted(found, key=lambda summary: summary.started_at)


def latest(summaries: Iterable[Summary], current: Summary | None = None, *, runs: int = DEFAULT_RUNS) -> list[Summary]:
    """The last `runs` summaries, oldest first, with `current` in its place (replacing a copy of itself)."""
    by_start = {summary.started_at: summary for summary in summaries}
    if current is not None:
        by_start[current.started_at] = current
    return [by_start[key] for key in sorted(by_start)][-runs:]


def series(summaries: list[Summary]) -> dict[str, list[float | None]]:
    """The suite duration and each metric, one value per run (None where a run lacks that metric)."""
    names = list(dict.fromkeys(name for summary in summaries for name in summary.metrics))
    found: dict[str, list[float | None]] = {SUITE_DURATION: [summary.duration_seconds for summary in summaries]}
    for name in names:
        found[name] = [summary.metrics.get(name) for summary in summaries]
    return found
