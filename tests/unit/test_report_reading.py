"""`kfval report` reads the Cucumber JSON the suite wrote back into the records the writers render."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kfval.report import cucumber, history, junit, measures, model, reading
from kfval.report.redaction import Redactor
from tests.support import report_samples

FEATURE = """\
@kubeflow
@training
Feature: Report sample
  Scenario Outline: Outline of <count>
    Given a count of <count>

    Examples: small counts
      | count |
      | 1     |
      | 12    |
"""


def _round_trip(run: model.Run) -> model.Run:
    return reading.parse(cucumber.render(run, redactor=Redactor()))


def test_steps_hooks_tags_and_embeddings_survive_the_round_trip() -> None:
    original = report_samples.run()
    [feature] = _round_trip(original).features
    [expected] = original.features
    assert (feature.uri, feature.id, feature.name, feature.line, feature.tags) == (
        expected.uri,
        expected.id,
        expected.name,
        expected.line,
        expected.tags,
    )
    for read, written in zip(feature.scenarios, expected.scenarios, strict=True):
        assert read.all_steps == written.all_steps
        assert (read.before, read.after, read.status, read.duration_ns) == (
            written.before,
            written.after,
            written.status,
            written.duration_ns,
        )
        assert read.started_at == written.started_at


def test_metrics_come_back_as_properties_from_their_json_embeddings() -> None:
    scenario = report_samples.passing_scenario()
    metric = model.Embedding("application/json", json.dumps({"accuracy": 0.98871}).encode(), "metric accuracy")
    last = scenario.steps[-1]
    steps = (*scenario.steps[:-1], dataclasses.replace(last, embeddings=(*last.embeddings, metric)))
    run = model.Run(
        features=(
            dataclasses.replace(
                report_samples.run().features[0], scenarios=(dataclasses.replace(scenario, steps=steps),)
            ),
        )
    )
    [read] = _round_trip(run).features[0].scenarios
    assert read.properties == (("accuracy", "0.9887"),)
    assert measures.of_scenario(read) == [measures.Metric("accuracy", 0.98871)]
    assert '<property name="accuracy" value="0.9887" />' in junit.render(_round_trip(run), redactor=Redactor())


def test_outline_rows_take_header_and_values_from_the_feature_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "features").mkdir()
    (tmp_path / "features/sample.feature").write_text(FEATURE)
    rows = tuple(
        dataclasses.replace(
            report_samples.outline_row(index, value, model.Status.PASSED), line=9 + index, name="Outline of <count>"
        )
        for index, value in enumerate(("1", "12"))
    )
    run = model.Run(features=(dataclasses.replace(report_samples.run().features[0], scenarios=rows),))
    read = _round_trip(run).features[0].scenarios
    assert [(s.example.header, s.example.values, s.example.name) for s in read if s.example] == [
        (("count",), ("1",), "small-counts"),
        (("count",), ("12",), "small-counts"),
    ]
    assert [s.name for s in read] == ["Outline of 1", "Outline of 12"]  # Cucumber names each row by its values
    assert [s.id for s in read] == [s.id for s in rows]


def test_without_the_feature_file_an_outline_row_is_named_by_its_number() -> None:
    run = model.Run(features=(dataclasses.replace(report_samples.run().features[0], uri="missing/sample.feature"),))
    examples = [s.example for s in _round_trip(run).features[0].scenarios if s.example]
    assert [(e.header, e.values) for e in examples] == [(("row",), ("1",)), (("row",), ("2",))]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"features": []}', "a list of features"),
        ('[{"uri": "x"}]', "lacks what Cucumber JSON requires"),
    ],
)
def test_what_is_not_a_cucumber_report_is_named(text: str, message: str) -> None:
    with pytest.raises(reading.ReportFormatError, match=message):
        reading.parse(text)


def test_the_report_command_writes_junit_and_html_beside_the_cucumber_report(tmp_path: Path) -> None:
    kfval = Path(sys.executable).parent / "kfval"
    source = tmp_path / "cucumber.json"
    source.write_text(cucumber.render(report_samples.run(), redactor=Redactor()))
    done = subprocess.run([kfval, "report", str(source)], capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "<testsuites" in (tmp_path / "junit.xml").read_text()
    assert "Report sample" in (tmp_path / "report.html").read_text()
    source.write_text('{"not": "a report"}')
    refused = subprocess.run([kfval, "report", str(source)], capture_output=True, text=True, check=False, timeout=60)
    assert refused.returncode == 2
    assert "is not a Cucumber JSON report: a Cucumber JSON report is a list of features" in refused.stderr


def test_a_metric_keeps_its_threshold_through_the_cucumber_report() -> None:
    scenario = report_samples.passing_scenario()
    last = scenario.steps[-1]
    metric = measures.Metric("accuracy", 0.95, 0.9662, ">=")
    steps = (*scenario.steps[:-1], dataclasses.replace(last, embeddings=(metric.embedding(),)))
    feature = dataclasses.replace(
        report_samples.run().features[0], scenarios=(dataclasses.replace(scenario, steps=steps),)
    )
    [read] = _round_trip(model.Run(features=(feature,))).features[0].scenarios
    assert measures.of_scenario(read) == [metric]
    assert metric.passed is False
    assert read.properties == (("accuracy", "0.9500"),)


def test_the_report_command_merges_runs_and_draws_the_trend_from_their_history(tmp_path: Path) -> None:
    kfval = Path(sys.executable).parent / "kfval"
    first, second = tmp_path / "run-1.json", tmp_path / "run-2.json"
    first.write_text(cucumber.render(report_samples.run(), redactor=Redactor()))
    other = dataclasses.replace(report_samples.run().features[0], uri="features/other.feature", name="Other feature")
    second.write_text(cucumber.render(model.Run(features=(other,)), redactor=Redactor()))
    (tmp_path / "history").mkdir()
    earlier = history.Summary("2025-12-30T10:00:00+00:00", 50.0, {"passed": 3}, {"Passing: accuracy": 0.97})
    (tmp_path / "history" / earlier.file_name).write_text(earlier.to_json())
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [kfval, "report", str(first), str(second), "--html", str(out / "merged.html"), "--junit", str(out / "m.xml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    page = (out / "merged.html").read_text()
    assert page.count("<section>") == 2
    assert '<p class="totals">4 passed, 4 failed, 2 skipped</p>' in page
    assert "<h2>Trend over the last 2 runs</h2>" in page
    assert len(ET.parse(out / "m.xml").getroot().findall("testsuite/testcase")) == 10
