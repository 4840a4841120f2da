"""The reporting extension's writers: every report, the run's summary in the history folder, the trend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kfval.bdd import reporting
from kfval.report import cucumber, history, redaction
from tests.support import report_samples


def writers(tmp_path: Path) -> reporting.Writers:
    redactor = redaction.Redactor()
    redactor.register(report_samples.SECRET)
    return reporting.Writers(
        tmp_path / "cucumber.json",
        tmp_path / "junit.xml",
        redactor,
        cucumber.Dialect.JVM,
        tmp_path / "report.html",
        tmp_path / "history",
    )


def test_each_write_keeps_one_summary_per_run_and_the_page_shows_the_trend(tmp_path: Path) -> None:
    earlier = history.Summary("2025-12-31T10:00:00+00:00", 40.0, {"passed": 5})
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / earlier.file_name).write_text(earlier.to_json())

    writers(tmp_path).write(report_samples.run())
    writers(tmp_path).write(report_samples.run())  # after the next scenario: the same file again

    summaries = sorted((tmp_path / "history").glob("*.json"))
    assert [path.name for path in summaries] == [earlier.file_name, "20260102T030405Z.json"]
    assert json.loads(summaries[1].read_text())["counts"] == {"passed": 2, "failed": 2, "skipped": 1}
    assert "<h2>Trend over the last 2 runs</h2>" in (tmp_path / "report.html").read_text()


def test_a_stray_file_in_the_history_costs_the_trend_not_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "notes.json").write_text("[]")

    writers(tmp_path).write(report_samples.run())

    assert "Trend over" not in (tmp_path / "report.html").read_text()
    error = capsys.readouterr().err
    assert "kfval reporting: no trend on the HTML page:" in error
    assert "notes.json is not a kfval run summary" in error
