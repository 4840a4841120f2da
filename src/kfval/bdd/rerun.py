"""Scenarios of the suite run again, in a child radish, against the same target.

After a Helm upgrade the original validation repeats every other validation on the upgraded
installation. The Helm feature does that from inside its scenario: the scenarios tagged for it run in a
child radish (its own run id, namespaces and reports, under the same settings and target, the embedded
cluster found where it runs), so they run after the upgrade whatever the order of the features, and
the scenario passes only if every one of them does. The child dies with its parent.
"""

from __future__ import annotations

import ctypes
import json
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kfval.kube import errors, progress

PR_SET_PDEATHSIG = 1
OUTPUT_TAIL_CHARACTERS = 4000


@dataclass(frozen=True)
class Rerun:
    """What the child run did: its exit code, each scenario's status, and the end of its console output."""

    returncode: int
    scenarios: tuple[tuple[str, str], ...]
    output_tail: str
    cucumber: Path

    @property
    def failed(self) -> list[str]:
        return [name for name, status in self.scenarios if status != "passed"]


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _scenarios(cucumber: Path) -> tuple[tuple[str, str], ...]:
    try:
        features = json.loads(cucumber.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    found = []
    for feature in features:
        for element in feature.get("elements") or []:
            if element.get("type") != "scenario":
                continue
            statuses = [step["result"]["status"] for step in element.get("steps") or []]
            statuses += [
                hook["result"]["status"] for hook in (element.get("before") or []) + (element.get("after") or [])
            ]
            worst = "failed" if "failed" in statuses else ("passed" if set(statuses) <= {"passed"} else statuses[-1])
            found.append((f"{feature.get('name')}: {element.get('name')}", worst))
    return tuple(found)


def run_tagged(
    tag: str,
    *,
    overrides: Mapping[str, str],
    reports: Path,
    timeout: float,
    sink: progress.Progress = progress.SILENT,
) -> Rerun:
    """Run every scenario of features/ tagged `tag` in a child radish with the same settings; `sink` hears
    how many of its scenarios are done (the child's own progress lines stay off: its output goes into
    the report)."""
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "cucumber.json").unlink(missing_ok=True)  # an earlier run's report must not speak for this one
    pairs = {
        **overrides,
        "console.progress": "false",
        "reports.cucumber": str(reports / "cucumber.json"),
        "reports.junit": str(reports / "junit.xml"),
        "reports.html": str(reports / "report.html"),
    }
    argv = [str(Path(sys.executable).parent / "radish"), "features", "-b", "steps", "--no-ansi", "--tags", tag]
    for key, value in pairs.items():
        argv += ["-u", f"{key}={value}"]

    def status(elapsed: float) -> progress.Status:
        statuses = [status for _name, status in _scenarios(reports / "cucumber.json")]
        done = f"{len(statuses)} scenario(s) done" + (
            f", {statuses.count('failed')} failed" if "failed" in statuses else ""
        )
        return progress.Status(f"scenarios tagged {tag}", (done,), elapsed)

    try:
        completed = progress.run_process(
            argv, stdin="", timeout=timeout, sink=sink, status=status, preexec_fn=_die_with_parent
        )
    except subprocess.TimeoutExpired as expired:
        raise errors.WaitTimeoutError(
            f"the scenarios tagged {tag} did not finish within {timeout:.0f} s; their reports: {reports}"
        ) from expired
    output = completed.stdout + completed.stderr
    return Rerun(
        completed.returncode,
        _scenarios(reports / "cucumber.json"),
        output[-OUTPUT_TAIL_CHARACTERS:],
        reports / "cucumber.json",
    )
