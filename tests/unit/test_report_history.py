"""Run summaries in reports/history/ and the trend the HTML page draws from them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kfval.report import history, measures, model


def run_with(accuracy: float, *, started: datetime, seconds: float) -> model.Run:
    metric = measures.Metric("accuracy", accuracy, 0.9662, ">=").embedding()
    step = model.Step(
        "Then ", "accuracy", 3, model.Result(model.Status.PASSED, int(seconds * 1e9)), embeddings=(metric,)
    )
    scenario = model.Scenario(id="f;a-1", keyword="Scenario", name="A master and 1 worker", line=2, steps=(step,))
    feature = model.Feature("features/f.feature", "f", "Feature", "F", 1, scenarios=(scenario,))
    return model.Run(features=(feature,), started_at=started)


def test_a_summary_holds_duration_counts_and_metrics_by_scenario_name() -> None:
    summary = history.summarize(run_with(0.97, started=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), seconds=12.5))

    assert summary == history.Summary(
        "2026-01-02T03:04:05+00:00", 12.5, {"passed": 1}, {"A master and 1 worker: accuracy": 0.97}
    )
    assert summary.file_name == "20260102T030405Z.json"
    assert history.parse(summary.to_json(), source="x") == summary


def test_the_folder_is_read_oldest_first_and_the_current_run_replaces_its_own_copy(tmp_path: Path) -> None:
    days = [
        history.summarize(run_with(0.9 + d / 100, started=datetime(2026, 1, d, tzinfo=UTC), seconds=d))
        for d in (3, 1, 2)
    ]
    for summary in days:
        (tmp_path / summary.file_name).write_text(summary.to_json())
    current = history.summarize(run_with(0.99, started=datetime(2026, 1, 3, tzinfo=UTC), seconds=30))

    loaded = history.load(tmp_path)
    latest = history.latest(loaded, current, runs=2)

    assert [s.started_at[:10] for s in loaded] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert [s.duration_seconds for s in latest] == [2.0, 30.0]
    assert history.load(tmp_path / "missing") == []


def test_series_give_each_metric_per_run_with_gaps() -> None:
    older = history.Summary("2026-01-01T00:00:00+00:00", 10.0, metrics={"A: accuracy": 0.97})
    newer = history.Summary("2026-01-02T00:00:00+00:00", 12.0, metrics={"B: loss": 0.2})

    assert history.series([older, newer]) == {
        history.SUITE_DURATION: [10.0, 12.0],
        "A: accuracy": [0.97, None],
        "B: loss": [None, 0.2],
    }


def test_a_file_that_is_not_a_summary_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"started": 1}')
    with pytest.raises(history.HistoryError, match=r"bad.json is not a kfval run summary"):
        history.load(tmp_path)
