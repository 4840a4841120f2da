"""The HTML page: self-contained, escaped, redacted."""

from __future__ import annotations

import base64
import dataclasses
from html.parser import HTMLParser

from kfval.report import history, html, measures, model, redaction
from tests.support import report_samples


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.sources.extend(value or "" for name, value in attrs if name in ("src", "href"))


def page(run: model.Run | None = None) -> str:
    redactor = redaction.Redactor()
    redactor.register(report_samples.SECRET)
    return html.render(run or report_samples.run(), redactor=redactor)


def test_the_page_needs_nothing_but_itself() -> None:
    collector = _Collector()
    collector.feed(page())

    assert "script" not in collector.tags
    assert "link" not in collector.tags
    assert collector.sources == ["data:image/png;base64," + base64.b64encode(report_samples.PIXEL_PNG).decode()]


def test_logs_are_escaped_not_interpreted() -> None:
    text = page()

    assert "&lt;b&gt;not html&lt;/b&gt;" in text
    assert "<b>not html</b>" not in text


def test_no_secret_on_the_page() -> None:
    text = page()

    assert report_samples.SECRET not in text
    assert "log line with ***" in text


def test_totals_and_a_bar_sized_by_status() -> None:
    text = page()

    assert '<p class="totals">2 passed, 2 failed, 1 skipped</p>' in text
    assert '<span class="passed" style="width:40.00%" title="2 passed">2 passed</span>' in text
    assert '<span class="failed" style="width:40.00%" title="2 failed">2 failed</span>' in text
    assert '<span class="skipped" style="width:20.00%" title="1 skipped">1 skipped</span>' in text


def test_failed_scenarios_and_the_evidence_of_failed_steps_are_open() -> None:
    text = page()

    assert text.count('<details class="scenario failed" open>') == 2
    assert '<details class="scenario passed">' in text
    assert text.count("<details open>") == 0  # the failed items carry no text evidence in the sample
    failing = dataclasses.replace(
        report_samples.outline_row(1, "12", model.Status.FAILED),
        steps=(
            model.Step(
                "Then ",
                "it fails",
                35,
                model.Result(model.Status.FAILED, 5, "boom"),
                embeddings=(
                    model.Embedding("text/plain", b"line 1\nline 2\n", "evidence"),
                    model.Embedding("text/plain", b"log line\n" * 100, "pod log"),
                    model.Embedding("text/plain", b"event\n" * 100, "evidence"),
                ),
            ),
        ),
    )
    text = page(model.Run(features=(dataclasses.replace(report_samples.run().features[0], scenarios=(failing,)),)))
    assert "<details open><summary>evidence <small>(2 line(s))</small></summary><pre>line 1\nline 2\n</pre>" in text
    assert '<pre class="error">boom</pre>' in text
    assert "<details><summary>pod log <small>(100 line(s))</small></summary>" in text  # a whole log stays folded


def test_steps_show_status_and_duration_and_outline_rows_their_values() -> None:
    text = page()

    assert '<span class="status">passed</span> Given these parameters <span class="duration">0.0 s</span>' in text
    assert "Outline <small>[count=12]</small>" in text
    assert '<pre class="reason">no node offers nvidia.com/gpu</pre>' in text


def test_pictures_are_shown_once_under_plots_and_logs_fold() -> None:
    text = page()

    assert text.count("<h3>Plots</h3>") == 1
    assert '<figure><img alt="loss curve" src="data:image/png;base64,' in text
    assert "<small>picture: loss curve (under Plots)</small>" in text
    assert "<details><summary>pod log <small>(2 line(s))</small></summary>" in text


def _metric_scenario() -> model.Scenario:
    metrics = (
        measures.Metric("accuracy", 0.9712, 0.9662, ">="),
        measures.Metric("validation_cross_entropy", 2400.5, 2277.07, "<"),
        measures.Metric("steps_per_second", 12.5),
    )
    step = model.Step(
        "Then ", "metrics", 5, model.Result(model.Status.PASSED, 1), embeddings=tuple(m.embedding() for m in metrics)
    )
    return model.Scenario(id="f;metrics", keyword="Scenario", name="Metrics", line=4, steps=(step,))


def test_the_metrics_table_says_value_threshold_and_verdict() -> None:
    feature = model.Feature("features/m.feature", "f", "Feature", "M", 1, scenarios=(_metric_scenario(),))
    text = page(model.Run(features=(feature,)))

    assert "<tr><th>metric</th><th>value</th><th>threshold</th><th>result</th></tr>" in text
    assert '<tr><td>accuracy</td><td>0.9712</td><td>&gt;= 0.9662</td><td class="pass">pass</td></tr>' in text
    assert (
        '<tr><td>validation_cross_entropy</td><td>2400.5000</td><td>&lt; 2277.07</td><td class="fail">fail</td></tr>'
        in text
    )
    assert '<tr><td>steps_per_second</td><td>12.5000</td><td></td><td class=""></td></tr>' in text


def test_the_trend_appears_from_two_runs_on() -> None:
    def summary(day: int, accuracy: float) -> history.Summary:
        return history.Summary(f"2026-01-0{day}T10:00:00+00:00", 60.0 + day, {"passed": 1}, {"M: accuracy": accuracy})

    redactor = redaction.Redactor()
    one = html.render(report_samples.run(), redactor=redactor, trend=[summary(1, 0.97)])
    two = html.render(report_samples.run(), redactor=redactor, trend=[summary(1, 0.97), summary(2, 0.96)])

    assert "Trend over" not in one
    assert "<h2>Trend over the last 2 runs</h2><figure><img" in two
    assert two.count("data:image/png;base64,") == one.count("data:image/png;base64,") + 1


def test_an_empty_run_says_so() -> None:
    assert "no scenario ran" in page(model.Run())


def test_metrics_are_in_their_table_not_repeated_as_attachments() -> None:
    feature = model.Feature("features/m.feature", "f", "Feature", "M", 1, scenarios=(_metric_scenario(),))
    text = page(model.Run(features=(feature,)))

    assert "<summary>metric accuracy" not in text
    assert text.count("<td>accuracy</td>") == 1
