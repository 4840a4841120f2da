"""A hand-built run with every construct the report writers must carry, shared by their tests."""

from __future__ import annotations

from datetime import UTC, datetime

from kfval.report import model

SECRET = "s3cr3t-t0ken-value"
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
STARTED = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def _passed(ns: int = 1_500_000) -> model.Result:
    return model.Result(model.Status.PASSED, ns)


def background() -> model.Background:
    step = model.Step("Given ", "a fresh namespace", 8, _passed(), location="steps/ns.py:10")
    return model.Background("Background", "A namespace per scenario", 7, steps=(step,))


def passing_scenario() -> model.Scenario:
    table = model.Step(
        "Given ", "these parameters", 13, _passed(), rows=(("name", "value"), ("epochs", "1")), location="s.py:1"
    )
    doc = model.Step("When ", "the job logs", 16, _passed(), doc_string=model.DocString(f"token={SECRET}", 17))
    evidence = model.Step(
        "Then ",
        "the evidence is attached",
        21,
        _passed(),
        embeddings=(
            model.Embedding("text/plain", f"log line with {SECRET}\n<b>not html</b>".encode(), "pod log"),
            model.Embedding("image/png", PIXEL_PNG, "loss curve"),
        ),
    )
    return model.Scenario(
        id="report-sample;passing",
        keyword="Scenario",
        name="Passing",
        line=12,
        tags=(model.Tag("@kubeflow", 1), model.Tag("@smoke", 11, 3), model.Tag("@gpu", 11, 10)),
        background=background(),
        steps=(table, doc, evidence),
        before=(model.Hook("terrain.py:open", _passed(10)),),
        after=(model.Hook("terrain.py:clean_up", _passed(20)),),
        started_at=STARTED,
        properties=(("accuracy", "0.97"),),
    )


def failing_cleanup_scenario() -> model.Scenario:
    error = f"namespace still Terminating (token {SECRET})"
    return model.Scenario(
        id="report-sample;passing",  # a duplicate name, as two features or a rerun may produce
        keyword="Scenario",
        name="Passing",
        line=30,
        tags=(model.Tag("@kubeflow", 1),),
        steps=(model.Step("Given ", "a step that passes", 31, model.Result(model.Status.PASSED, 0)),),
        after=(model.Hook("terrain.py:clean_up", model.Result(model.Status.FAILED, 5, error)),),
    )


def outline_row(index: int, value: str, status: model.Status) -> model.Scenario:
    error = "AssertionError: count 12 is not below 10\nTraceback (most recent call last):\n  ..."
    result = model.Result(status, 2_000, error if status is model.Status.FAILED else None)
    return model.Scenario(
        id=f"report-sample;outline;small-counts;{index + 2}",
        keyword="Scenario Outline",
        name="Outline",
        line=40 + index,
        tags=(model.Tag("@kubeflow", 1),),
        steps=(
            model.Step("Given ", f"a count of {value}", 34, _passed()),
            model.Step("Then ", "the count is below 10", 35, result),
        ),
        example=model.Example("Examples", "small counts", 37, ("count",), (value,), index),
    )


def skipped_scenario() -> model.Scenario:
    reason = "no node offers nvidia.com/gpu"
    return model.Scenario(
        id="report-sample;gpu",
        keyword="Scenario",
        name="GPU training",
        line=50,
        steps=(model.Step("Given ", "a GPU node", 51, model.Result(model.Status.SKIPPED, 0, reason)),),
    )


def run() -> model.Run:
    feature = model.Feature(
        uri="features/sample.feature",
        id="report-sample",
        keyword="Feature",
        name="Report sample",
        line=3,
        description="Two\nlines.",
        tags=(model.Tag("@kubeflow", 1), model.Tag("@training", 2, 11)),
        scenarios=(
            passing_scenario(),
            failing_cleanup_scenario(),
            outline_row(0, "1", model.Status.PASSED),
            outline_row(1, "12", model.Status.FAILED),
            skipped_scenario(),
        ),
    )
    return model.Run(features=(feature,), started_at=STARTED, properties=(("kubernetes", "v1.32.0"),))
