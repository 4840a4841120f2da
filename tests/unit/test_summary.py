"""The end-of-run summary: one line per scenario with its outcome, duration and checked metrics, the run
id, the reports, and the janitor command when something was left behind."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from kfval.bdd import scenario as glue
from kfval.bdd import summary
from kfval.report import model

SECOND_NS = model.NANOSECONDS_PER_SECOND


def scenario(
    name: str,
    status: model.Status,
    seconds: float,
    *,
    example: model.Example | None = None,
    outline: str | None = None,
) -> model.Scenario:
    """A scenario record with a Cucumber id: `feature;outline name[;examples;row line]`."""
    step = model.Step("Then ", "something", 3, model.Result(status, round(seconds * SECOND_NS)))
    scenario_id = f"feature;{model.slug(outline or name)}" + (f";examples;{example.line}" if example else "")
    return model.Scenario(id=scenario_id, keyword="Scenario", name=name, line=2, steps=(step,), example=example)


def radish_scenario(*checks: summary.MetricCheck) -> SimpleNamespace:
    return SimpleNamespace(context=SimpleNamespace(metric_checks=list(checks)))


def test_each_scenario_gets_a_line_with_its_checks_and_the_run_its_reports() -> None:
    row = model.Example("Examples", "", 20, ("workers",), ("2",), 1)
    pairs = [
        (
            radish_scenario(summary.MetricCheck("accuracy", 0.9712, 0.9662, at_least=True)),
            scenario("A master and <workers> worker(s) train MNIST", model.Status.PASSED, 14.2, example=row),
        ),
        (
            radish_scenario(summary.MetricCheck("validation_cross_entropy", 2500.0, 2277.07, at_least=False)),
            scenario("TFJob trains", model.Status.FAILED, 61.0),
        ),
        (SimpleNamespace(context=SimpleNamespace()), scenario("Skipped one", model.Status.SKIPPED, 0.0)),
    ]
    text = summary.render(
        pairs,
        run_id="r1234abcd",
        reports=(Path("reports/cucumber.json"), Path("reports/junit.xml")),
        cleanup_problems=[],
    )
    assert text.splitlines() == [
        "kfval run r1234abcd: 3 scenario(s), 1 passed, 1 failed, 1 skipped",
        "  passed    14.2 s  A master and <workers> worker(s) train MNIST [workers=2] · accuracy 0.9712 >= 0.9662",
        "  FAILED    61.0 s  TFJob trains · validation_cross_entropy 2500.0000 >= 2277.0700",
        "  skipped    0.0 s  Skipped one",
        "reports: reports/cucumber.json, reports/junit.xml",
    ]


def test_an_outline_row_is_named_once() -> None:
    row = model.Example("Examples", "", 20, ("workers",), ("2",), 1)
    outline = "A master and <workers> worker(s) train MNIST"
    named = scenario("A master and 2 worker(s) train MNIST", model.Status.PASSED, 1.0, example=row, outline=outline)
    fixed = scenario("Training works", model.Status.PASSED, 1.0, example=row)
    assert summary.scenario_line(named, []).endswith("  A master and 2 worker(s) train MNIST")
    assert summary.scenario_line(fixed, []).endswith("  Training works [workers=2]")


def test_cleanup_problems_add_the_janitor_command() -> None:
    text = summary.render([], run_id="r1234abcd", reports=(), cleanup_problems=["namespace x was not deleted"])
    assert text.splitlines()[-1].endswith("kfval janitor --run-id r1234abcd")


def test_a_run_that_never_started_says_so() -> None:
    assert (
        summary.render([], run_id=None, reports=(), cleanup_problems=["x"]) == "kfval run (not started): 0 scenario(s)"
    )


def test_a_met_upper_bound_reads_below() -> None:
    assert (
        summary.MetricCheck("cross_entropy", 558.4, 2277.07, at_least=False).text()
        == "cross_entropy 558.4000 < 2277.0700"
    )
    assert summary.MetricCheck("accuracy", 0.5, 0.9, at_least=True).text() == "accuracy 0.5000 < 0.9000"


def test_a_metric_recorded_with_its_threshold_is_kept_for_the_summary() -> None:
    context = SimpleNamespace()
    step = SimpleNamespace(context=context, parent=SimpleNamespace(context=context))
    glue.record_metric(step, "accuracy", 0.97, threshold=0.9662, comparison=">=")
    glue.record_metric(step, "validation_cross_entropy", 0.1, threshold=0.5, comparison="<")
    glue.record_metric(step, "test_loss", 0.2)
    assert [check.text() for check in summary.checks_of(step.parent)] == [
        "accuracy 0.9700 >= 0.9662",
        "validation_cross_entropy 0.1000 < 0.5000",
    ]
