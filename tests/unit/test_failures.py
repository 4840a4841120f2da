"""A failed step on the console: the suite's own errors as their message and evidence, without a
traceback; anything else (a bug) with its traceback; the reports' failure put back untouched."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from radish.stepmodel import Step as RadishStep
from radish.terrain import world
from radish.utils import Failure

from kfval.bdd import failures
from kfval.kube import errors


def failure_of(error: BaseException) -> Any:
    try:
        raise error
    except BaseException as raised:  # radish builds its Failure inside the except block, as here
        return Failure(raised)


def test_a_domain_error_shows_its_message_indented_and_the_start_of_its_evidence() -> None:
    evidence = "\n".join(f"evidence line {n}" for n in range(19)) + "\n" + "x" * 300
    failure = failure_of(errors.WaitTimeoutError("timed out waiting\nstill unmet:\n  pods", evidence=evidence))
    view = failures.console_view(failure, radish_with_traceback=True)
    assert view.with_traceback is False
    assert view.name == "WaitTimeoutError"
    lines = view.reason.split("\n")
    assert lines[:3] == ["timed out waiting", "          still unmet:", "            pods"]
    assert lines[3] == "          evidence:"
    assert lines[4] == "            evidence line 0"
    assert lines[-1] == "            ... 8 more line(s) of evidence in the reports"
    long = failures.console_view(
        failure_of(errors.WorkloadFailedError("failed", evidence="y" * 300)), radish_with_traceback=False
    )
    assert long.reason.split("\n")[-1] == "            " + "y" * 157 + "..."
    assert "Traceback" not in view.reason
    assert view.traceback == failure.traceback


def test_a_failed_assertion_is_the_suite_speaking_too() -> None:
    view = failures.console_view(failure_of(AssertionError("accuracy 0.5 is below 0.9")), radish_with_traceback=False)
    assert (view.with_traceback, view.reason) == (False, "accuracy 0.5 is below 0.9")


def test_a_bug_shows_its_traceback() -> None:
    failure = failure_of(KeyError("replica type"))
    view = failures.console_view(failure, radish_with_traceback=False)
    assert view.with_traceback is True
    assert (view.name, view.reason) == ("KeyError", "'replica type'")
    assert view.traceback.startswith("Traceback (most recent call last)")


def test_the_view_lasts_only_while_radish_writes_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    original = failure_of(errors.ExpectationError("the cluster accepted it"))
    step = SimpleNamespace(state=RadishStep.State.FAILED, failure=original)
    monkeypatch.setattr(world, "config", SimpleNamespace(with_traceback=True), raising=False)
    failures._show(step)
    assert isinstance(step.failure, failures.ConsoleFailure)
    assert world.config.with_traceback is False
    failures._restore(step)
    assert step.failure is original
    assert world.config.with_traceback is True


def test_a_passed_step_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    step = SimpleNamespace(state=RadishStep.State.PASSED, failure=None)
    monkeypatch.setattr(world, "config", SimpleNamespace(with_traceback=False), raising=False)
    failures._show(step)
    failures._restore(step)
    assert step.failure is None
