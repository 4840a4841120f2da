"""The run records decide statuses and ids once, for every writer."""

from __future__ import annotations

import dataclasses

import pytest

from kfval.report import model
from tests.support import report_samples


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], model.Status.PASSED),
        ([model.Status.PASSED, model.Status.SKIPPED], model.Status.SKIPPED),
        ([model.Status.PENDING, model.Status.SKIPPED], model.Status.PENDING),
        ([model.Status.UNDEFINED, model.Status.PENDING], model.Status.UNDEFINED),
        ([model.Status.PASSED, model.Status.FAILED, model.Status.UNDEFINED], model.Status.FAILED),
    ],
)
def test_the_worst_status_wins(statuses: list[model.Status], expected: model.Status) -> None:
    assert model.worst(statuses) is expected


def test_a_failing_cleanup_hook_fails_a_scenario_whose_steps_passed() -> None:
    scenario = report_samples.failing_cleanup_scenario()

    assert all(step.result.status is model.Status.PASSED for step in scenario.all_steps)
    assert scenario.status is model.Status.FAILED
    assert scenario.failure is scenario.after[0]


def test_background_steps_run_first_and_hooks_surround_them() -> None:
    scenario = report_samples.passing_scenario()

    assert [item.line for item in scenario.all_steps] == [8, 13, 16, 21]
    assert scenario.timeline[0] is scenario.before[0]
    assert scenario.timeline[-1] is scenario.after[0]
    assert scenario.status is model.Status.PASSED
    assert scenario.failure is None


def test_duration_adds_steps_and_hooks_in_nanoseconds() -> None:
    scenario = report_samples.passing_scenario()

    assert scenario.duration_ns == 4 * 1_500_000 + 10 + 20


def test_the_first_failing_step_is_the_failure() -> None:
    scenario = report_samples.outline_row(1, "12", model.Status.FAILED)

    failure = scenario.failure
    assert isinstance(failure, model.Step)
    assert failure.name == "the count is below 10"


def test_run_and_feature_status_summarise_scenarios() -> None:
    run = report_samples.run()

    assert run.features[0].status is model.Status.FAILED
    assert run.status is model.Status.FAILED
    assert model.Run().status is model.Status.PASSED


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Report sample", "report-sample"), ("  PyTorch  MNIST\ttraining ", "pytorch-mnist-training"), ("", "")],
)
def test_slug_follows_cucumber_ids(name: str, expected: str) -> None:
    assert model.slug(name) == expected


@pytest.mark.parametrize(
    ("mime_type", "is_text"),
    [("text/plain", True), ("application/json", True), ("image/png", False), ("application/gzip", False)],
)
def test_text_embeddings_are_recognised(mime_type: str, is_text: bool) -> None:
    assert model.Embedding(mime_type, b"x").is_text is is_text


def test_an_outline_row_substitutes_its_values_into_a_name() -> None:
    example = model.Example("Examples", "", 20, ("workers", "epochs"), ("2", "1"), 1)

    assert example.substitute("A master and <workers> worker(s), <epochs> epoch(s), <other>") == (
        "A master and 2 worker(s), 1 epoch(s), <other>"
    )


def test_merging_runs_joins_features_by_uri_in_the_order_given() -> None:
    first, second = report_samples.run(), report_samples.run()
    other = dataclasses.replace(first.features[0], uri="features/other.feature", id="other")
    later = dataclasses.replace(second, started_at=None, features=(*second.features, other))

    merged = model.merge([first, later])

    assert [f.uri for f in merged.features] == ["features/sample.feature", "features/other.feature"]
    assert len(merged.features[0].scenarios) == 2 * len(first.features[0].scenarios)
    assert merged.started_at == first.started_at
    assert merged.properties == first.properties
    assert model.merge([]) == model.Run()
