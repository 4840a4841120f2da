"""How a failed step reads on the console: the domain message and its evidence, or a bug's traceback.

A step fails in one of two ways. The suite raised on purpose (a `KfvalError`, or a step's assertion):
its message is written for a QA engineer, and a traceback through the client library only hides it,
so the console shows the message, indented under the step, and the first lines of the evidence the
error carries. Anything else is a bug in the suite: the console shows its traceback, whatever
radish's `--with-traceback` says, because that is what the person who fixes it needs.

radish's console writer prints `step.failure` (`name: reason`, and the traceback only under
`--with-traceback`) in its `after each step` hook, and for a scenario outline's row in its
`after each scenario` hook. So, for exactly the span of that hook, the failure is replaced by its
console view and radish's traceback switch set for it; both are put back before the reporting
extension reads the failure, so the Cucumber JSON and JUnit reports keep the full message and
traceback as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from radish.hookregistry import HookRegistry
from radish.scenariooutline import ScenarioOutline
from radish.stepmodel import Step as RadishStep
from radish.terrain import world

from kfval.bdd import reporting
from kfval.kube.errors import KfvalError

DOMAIN_ERRORS: tuple[type[BaseException], ...] = (KfvalError, AssertionError)
"""Failures the suite means: their message is the whole story for the console."""
EVIDENCE_LINES = 12
EVIDENCE_LINE_CHARACTERS = 160
"""An evidence line longer than this (a job's replicaStatuses) is cut on the console; the reports keep it whole."""
INDENT = "          "
"""Where radish starts a failure's first line under its step; later lines are indented to match."""
SHOW_ORDER = 1000
"""`after` hooks run by descending order: before radish's console writer (order 100)."""
RESTORE_ORDER = 50
"""After radish's console writer, before the reporting extension (order -1000) reads the failure."""

_registered = False
"""radish's hook registry is one per process; so is this registration."""


@dataclass(frozen=True)
class ConsoleFailure:
    """What radish's console writer reads of a failure (the attributes of `radish.utils.Failure`)."""

    name: str
    reason: str
    traceback: str
    original: Any
    """The radish Failure this stands in for, put back once the console has written it."""
    with_traceback: bool
    """Whether the console shows the traceback (a bug) or not (a failure the suite means)."""
    radish_with_traceback: bool
    """radish's own `--with-traceback`, put back with the failure."""

    @property
    def exception(self) -> BaseException:
        found: BaseException = self.original.exception
        return found


def is_bug(exception: BaseException) -> bool:
    """Whether the step failed on something the suite did not mean to raise."""
    return not isinstance(exception, DOMAIN_ERRORS)


def domain_text(exception: BaseException, reason: str) -> str:
    """The message as the console shows it: each line under the first one indented, then the evidence's
    first lines (the reports keep all of it)."""
    lines = reason.splitlines() or [""]
    evidence = str(getattr(exception, "evidence", "") or "").strip().splitlines()
    if evidence:
        lines.append("evidence:")
        lines += [f"  {_cut(line)}" for line in evidence[:EVIDENCE_LINES]]
        if len(evidence) > EVIDENCE_LINES:
            lines.append(f"  ... {len(evidence) - EVIDENCE_LINES} more line(s) of evidence in the reports")
    return f"\n{INDENT}".join(lines)


def _cut(line: str) -> str:
    return line if len(line) <= EVIDENCE_LINE_CHARACTERS else line[: EVIDENCE_LINE_CHARACTERS - 3] + "..."


def console_view(failure: Any, *, radish_with_traceback: bool) -> ConsoleFailure:
    exception = failure.exception
    bug = is_bug(exception)
    reason = failure.reason if bug else domain_text(exception, failure.reason)
    return ConsoleFailure(failure.name, reason, failure.traceback, failure, bug, radish_with_traceback)


def _show(step: Any) -> None:
    failure = getattr(step, "failure", None)
    if step.state != RadishStep.State.FAILED or failure is None or isinstance(failure, ConsoleFailure):
        return
    view = console_view(failure, radish_with_traceback=bool(world.config.with_traceback))
    step.failure = view
    world.config.with_traceback = view.with_traceback


def _restore(step: Any) -> None:
    view = getattr(step, "failure", None)
    if isinstance(view, ConsoleFailure):
        step.failure = view.original
        world.config.with_traceback = view.radish_with_traceback


def _outline_row(action: Callable[[Any], None]) -> Callable[[Any], None]:
    """The same for a scenario outline's row, whose failure radish writes after the row."""

    def hook(scenario: Any) -> None:
        if isinstance(scenario.parent, ScenarioOutline) and scenario.state == RadishStep.State.FAILED:
            action(scenario.failed_step)

    hook.__name__ = f"outline_row_{action.__name__.lstrip('_')}"
    return hook


def register() -> None:
    """Put the console view of failures in place for this process's radish run (once)."""
    global _registered  # noqa: PLW0603 - one registration per process, as radish's hook registry
    if _registered:
        return
    registry = HookRegistry()
    registry.register("after", "each_step", reporting.guarded(_show), order=SHOW_ORDER)
    registry.register("after", "each_step", reporting.guarded(_restore), order=RESTORE_ORDER)
    registry.register("after", "each_scenario", reporting.guarded(_outline_row(_show)), order=SHOW_ORDER)
    registry.register("after", "each_scenario", reporting.guarded(_outline_row(_restore)), order=RESTORE_ORDER)
    _registered = True
