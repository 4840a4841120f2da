"""The radish extension that follows a run and keeps the Cucumber JSON and JUnit reports on disk.

radish 0.18's built-in writers break every Cucumber JSON schema, lose hooks, and write nothing
when the run is killed (reference/report-formats.md §3.2); they stay off. Instead the terrain calls
`configure` once, which registers hooks with radish's hook registry (a process-wide singleton, so
`radish features -b steps` and an in-process runner get the same reports), and from then on:

- every feature, scenario and step is timed, translated into `kfval.report.model` records (slug
  ids, background elements, pickle tags with the lines they are written on, tables, doc strings,
  match locations, statuses from the Cucumber set), and
- both reports are rewritten atomically after every scenario, at the end of the run, and whenever
  `flush` is called (the terrain's SIGTERM/SIGINT handler does), so a killed run leaves valid,
  partial reports in which the interrupted step is failed, not silently skipped.

The reporting hooks run first among `before` hooks and last among `after` hooks, so the terrain's
own cleanup, reported through `record_hook`, lands in the scenario it belongs to before it is
written. No hook here ever raises: radish aborts the whole run on a hook exception.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from radish.hookregistry import HookRegistry
from radish.stepmodel import Step as RadishStep

from kfval.bdd import recording
from kfval.report import cucumber, html, junit, model, redaction

# radish runs `before` hooks by ascending order and `after` hooks by descending order.
HOOK_ORDER = -1000
# mkstemp creates files readable by the owner only; reports are for whoever collects the CI artifacts
REPORT_FILE_MODE = 0o644


@dataclass
class Writers:
    """Where the reports go and how they are written (the redactor every text passes through)."""

    cucumber_path: Path
    junit_path: Path
    redactor: redaction.Redactor
    dialect: cucumber.Dialect
    html_path: Path | None

    def write(self, run: model.Run) -> None:
        _write(self.cucumber_path, cucumber.render(run, redactor=self.redactor, dialect=self.dialect))
        _write(self.junit_path, junit.render(run, redactor=self.redactor))
        if self.html_path is not None:
            _write(self.html_path, html.render(run, redactor=self.redactor))


@dataclass
class _Extension:
    recorder: recording.Recorder
    writers: Writers


_extension: _Extension | None = None
"""The one reporting extension of this process, as radish's hook registry is one per process."""


def configure(
    *,
    cucumber_path: Path,
    junit_path: Path,
    redactor: redaction.Redactor,
    dialect: cucumber.Dialect = cucumber.Dialect.JVM,
    redact_console: bool = True,
    html_path: Path | None = None,
) -> None:
    """Start reporting this run (call once, early; later calls only update paths and redactor)."""
    global _extension  # noqa: PLW0603 - one run per process, as radish's own hook registry
    writers = Writers(Path(cucumber_path), Path(junit_path), redactor, dialect, html_path)
    if _extension is None:
        _extension = _Extension(recording.Recorder(), writers)
        _register_hooks()
    else:
        _extension.writers = writers
    if redact_console:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if isinstance(stream, redaction.RedactingStream):
                stream.redactor = redactor
            else:
                setattr(sys, name, redaction.RedactingStream(stream, redactor))


def attach(step_or_scenario: Any, *, name: str, mime_type: str, data: bytes | str) -> None:
    """Embed evidence on the current step (for a scenario: its latest step, else its next hook)."""
    if _extension is None:
        return
    raw = data.encode("utf-8") if isinstance(data, str) else data
    embedding = model.Embedding(mime_type, raw, name)
    if embedding.is_text:
        embedding = model.Embedding(mime_type, _extension.writers.redactor.redact_bytes(raw), name)
    _extension.recorder.attach(step_or_scenario, embedding)


def record_hook(
    scenario: Any,
    *,
    kind: Literal["before", "after"],
    name: str,
    error: str | None,
    duration_seconds: float,
) -> None:
    """Report a terrain hook (e.g. namespace cleanup); an error fails the scenario but not the run."""
    if _extension is None:
        return
    scenario = scenario.parent if isinstance(scenario, RadishStep) else scenario
    status = model.Status.FAILED if error else model.Status.PASSED
    result = model.Result(status, max(0, round(duration_seconds * model.NANOSECONDS_PER_SECOND)), error)
    _extension.recorder.record_hook(scenario, kind, name, result)


def skip(step: Any, reason: str) -> None:
    """Skip the step (radish's own skip), with a reason that every report shows."""
    if _extension is not None:
        _extension.recorder.skipped(step, reason)
    step.skip()


def add_property(scenario: Any, name: str, value: object) -> None:
    """A name=value fact about the scenario (a metric, a version) for the JUnit testcase properties."""
    if _extension is not None:
        scenario = scenario.parent if isinstance(scenario, RadishStep) else scenario
        _extension.recorder.add_property(scenario, name, str(value))


def flush() -> None:
    """Write every report now from what is known; a step still running is reported as interrupted."""
    if _extension is not None:
        _extension.writers.write(_extension.recorder.snapshot())


def _write(path: Path, text: str) -> None:
    """Replace `path` atomically: a temporary file in the same folder, renamed over the old report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(descriptor, REPORT_FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _guarded(hook: Callable[..., None]) -> Callable[..., None]:
    """A hook that reports its own failure on stderr instead of letting radish abort the run."""

    @functools.wraps(hook)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            hook(*args, **kwargs)
        except Exception as error:  # a report problem must never stop the suite
            print(f"kfval reporting: {hook.__name__} failed: {error!r}", file=sys.stderr)

    return run


def _register_hooks() -> None:
    registry = HookRegistry()
    for when, what, hook in (
        ("before", "each_feature", _on_feature_start),
        ("before", "each_scenario", _on_scenario_start),
        ("before", "each_step", _on_step_start),
        ("after", "each_step", _on_step_end),
        ("after", "each_scenario", _on_scenario_end),
        ("after", "all", _on_run_end),
    ):
        registry.register(when, what, _guarded(hook), order=HOOK_ORDER)


def _recorder() -> recording.Recorder:
    assert _extension is not None, "hooks are registered by configure()"
    return _extension.recorder


def _on_feature_start(feature: Any) -> None:
    _recorder().feature_started(feature)


def _on_scenario_start(scenario: Any) -> None:
    _recorder().scenario_started(scenario)


def _on_step_start(step: Any) -> None:
    _recorder().step_started(step)


def _on_step_end(step: Any) -> None:
    _recorder().step_finished(step)


def _on_scenario_end(scenario: Any) -> None:
    _recorder().scenario_finished(scenario)
    flush()


def _on_run_end(features: Any, marker: Any) -> None:  # radish passes both by keyword
    flush()
