"""Running the suite itself (radish with the project's steps) against the test cluster, and reading what it left.

The runs target the session's embedded cluster as a `kubeconfig` target, so the cluster outlives each
run and the tests can check that nothing of the run is left in it. They run with strict permissions: a
request the permissions table (`kfval rbac`) lacks fails the run, so the table keeps up with the steps.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RADISH = str(Path(sys.executable).parent / "radish")
RUN_ID = re.compile(r"kfval run (r[0-9a-f]+) against")


@dataclass
class SuiteRun:
    returncode: int
    output: str
    cucumber: list[dict[str, Any]]
    junit: ET.Element
    run_id: str | None

    def failed_steps(self) -> list[dict[str, Any]]:
        return failed_steps(self.cucumber)

    def error_messages(self) -> str:
        return error_messages(self.cucumber)


def failed_steps(cucumber: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        step
        for feature in cucumber
        for element in feature["elements"]
        for step in element["steps"]
        if step["result"]["status"] == "failed"
    ]


def error_messages(cucumber: list[dict[str, Any]]) -> str:
    return "\n".join(step["result"].get("error_message", "") for step in failed_steps(cucumber))


def suite_argv(
    feature: str,
    kubeconfig: Path,
    reports: Path,
    *overrides: str,
    tags: str | None = None,
    scenarios: str | None = None,
) -> list[str]:
    """radish itself, as the README's plain radish command runs the suite; `scenarios` is radish's `-s`
    (scenario ids of the feature, comma-separated)."""
    argv = [RADISH, feature, "-b", "steps", "--no-ansi", *(["--tags", tags] if tags else [])]
    argv += ["--scenarios", scenarios] if scenarios else []
    return argv + _settings(kubeconfig, reports, overrides)


def kfval_argv(
    features: list[str], kubeconfig: Path, reports: Path, *overrides: str, tags: str | None = None
) -> list[str]:
    """`kfval run`, which checks settings, features and tags before it becomes radish."""
    argv = [sys.executable, "-m", "kfval.cli", "run", *features, *(["-t", tags] if tags is not None else [])]
    return argv + _settings(kubeconfig, reports, overrides)


def _settings(kubeconfig: Path, reports: Path, overrides: tuple[str, ...]) -> list[str]:
    """The run's target (a kubeconfig) and its own report files, then the test's overrides."""
    pairs = (
        "target.kind=kubeconfig",
        "run.strict_permissions=true",
        f"target.kubeconfig={kubeconfig}",
        f"reports.cucumber={reports / 'cucumber.json'}",
        f"reports.junit={reports / 'junit.xml'}",
        f"reports.html={reports / 'report.html'}",
        *overrides,
    )
    argv: list[str] = []
    for pair in pairs:
        argv += ["-u", pair]
    return argv


def finished(process: subprocess.Popen[str], reports: Path, output: str) -> SuiteRun:
    match = RUN_ID.search(output)
    return SuiteRun(
        returncode=process.returncode,
        output=output,
        cucumber=json.loads((reports / "cucumber.json").read_text()),
        junit=ET.parse(reports / "junit.xml").getroot(),
        run_id=match.group(1) if match else None,
    )


def run_suite(
    feature: str,
    kubeconfig: Path,
    reports: Path,
    *overrides: str,
    tags: str | None = None,
    scenarios: str | None = None,
    timeout: float = 300,
) -> SuiteRun:
    process = subprocess.Popen(
        suite_argv(feature, kubeconfig, reports, *overrides, tags=tags, scenarios=scenarios),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, _ = process.communicate(timeout=timeout)
    return finished(process, reports, output)


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class CommandRun:
    """A `kfval run` that may stop before radish starts, so before it writes any report."""

    returncode: int
    stdout: str
    stderr: str
    reported: str
    """The error messages of the failed steps in the Cucumber report ('' when the run wrote none)."""
    run_id: str | None

    @property
    def text(self) -> str:
        return "\n".join((self.stdout, self.stderr, self.reported))

    def first_message_line(self) -> str:
        """What the user reads first: the report's first error line, else the first line on stderr."""
        for line in (*self.reported.splitlines(), *self.stderr.splitlines(), *self.stdout.splitlines()):
            if line.strip():
                return line.strip()
        return ""


def run_kfval(argv: list[str], reports: Path, *, env: dict[str, str] | None = None, timeout: float = 120) -> CommandRun:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    cucumber = reports / "cucumber.json"
    reported = error_messages(json.loads(cucumber.read_text())) if cucumber.exists() else ""
    match = RUN_ID.search(done.stderr + done.stdout)
    return CommandRun(
        done.returncode,
        ANSI.sub("", done.stdout),
        ANSI.sub("", done.stderr),
        reported,
        match.group(1) if match else None,
    )
