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
        return [
            step
            for feature in self.cucumber
            for element in feature["elements"]
            for step in element["steps"]
            if step["result"]["status"] == "failed"
        ]

    def error_messages(self) -> str:
        return "\n".join(step["result"].get("error_message", "") for step in self.failed_steps())


def suite_argv(
    feature: str,
    kubeconfig: Path,
    reports: Path,
    *overrides: str,
    tags: str | None = None,
    scenarios: str | None = None,
) -> list[str]:
    """radish's argv for a run; `scenarios` is radish's `-s` (scenario ids of the feature, comma-separated)."""
    argv = [RADISH, feature, "-b", "steps", "--no-ansi", *(["--tags", tags] if tags else [])]
    argv += ["--scenarios", scenarios] if scenarios else []
    pairs = (
        "target.kind=kubeconfig",
        "run.strict_permissions=true",
        f"target.kubeconfig={kubeconfig}",
        f"reports.cucumber={reports / 'cucumber.json'}",
        f"reports.junit={reports / 'junit.xml'}",
        *overrides,
    )
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
