"""Real radish runs of the report sample: the files a CI job would collect, validated as its tools would.

radish runs in a subprocess with the sample's own steps and terrain (tests/fixtures/reporting), the
way `radish features -b steps` runs the suite; the terrain configures `kfval.reporting` from
environment variables so each test gets its own report paths and Cucumber dialect.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kfval.report import cucumber
from tests.support.polling import eventually_blocking
from tests.support.schemas import schema_errors

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "reporting"
RADISH = Path(sys.executable).with_name("radish")
SECRET = "SECRET123"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Reports:
    cucumber: Path
    junit: Path
    marker: Path

    def environment(self, dialect: cucumber.Dialect) -> dict[str, str]:
        return {
            **os.environ,
            "KFVAL_TEST_CUCUMBER": str(self.cucumber),
            "KFVAL_TEST_JUNIT": str(self.junit),
            "KFVAL_TEST_MARKER": str(self.marker),
            "KFVAL_TEST_DIALECT": str(dialect),
            "KFVAL_TEST_HTML": str(self.cucumber.with_name("report.html")),
        }


def radish_command(features: str) -> list[str]:
    return [str(RADISH), f"tests/fixtures/reporting/{features}", "-b", "tests/fixtures/reporting/steps", "--no-ansi"]


def run_sample(tmp_path: Path, dialect: cucumber.Dialect) -> tuple[Reports, subprocess.CompletedProcess[str]]:
    reports = Reports(tmp_path / "cucumber.json", tmp_path / "junit.xml", tmp_path / "marker")
    result = subprocess.run(
        radish_command("features"),
        cwd=ROOT,
        env=reports.environment(dialect),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return reports, result


@pytest.fixture(scope="module")
def jvm_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Reports, subprocess.CompletedProcess[str]]:
    return run_sample(tmp_path_factory.mktemp("jvm"), cucumber.Dialect.JVM)


def scenarios(document: Any) -> list[dict[str, Any]]:
    return [element for element in document[0]["elements"] if element["type"] == "scenario"]


@pytest.mark.parametrize("dialect", list(cucumber.Dialect))
def test_the_report_of_a_real_run_validates_against_the_schema(tmp_path: Path, dialect: cucumber.Dialect) -> None:
    reports, result = run_sample(tmp_path, dialect)

    assert result.returncode == 1, result.stdout + result.stderr  # the sample has failing steps
    assert "kfval reporting:" not in result.stdout + result.stderr
    assert schema_errors(json.loads(reports.cucumber.read_text()), dialect) == []


def test_radish_s_deviations_are_fixed(jvm_run: tuple[Reports, subprocess.CompletedProcess[str]]) -> None:
    reports, _ = jvm_run
    document = json.loads(reports.cucumber.read_text())
    feature = document[0]
    passing, failing, cleanup, row_1, row_12 = scenarios(document)

    assert feature["uri"] == "tests/fixtures/reporting/features/sample.feature"
    assert [(t["name"], t["location"]["line"]) for t in feature["tags"]] == [
        ("@reporting", 1),
        ("@kubeflow", 2),
        ("@training", 2),
    ]
    assert [element["type"] for element in feature["elements"][:2]] == ["background", "scenario"]
    assert passing["id"] == "report-sample;passing-scenario-with-a-table-and-a-doc-string"
    assert [t["name"] for t in passing["tags"]] == ["@reporting", "@kubeflow", "@training", "@smoke", "@gpu", "@slow"]
    given, when, _ = passing["steps"]
    assert (given["keyword"], given["name"], given["line"]) == ("Given ", "these training parameters", 13)
    assert given["rows"] == [{"cells": ["name", "value"]}, {"cells": ["epochs", "1"]}]
    assert given["match"]["location"].startswith("tests/fixtures/reporting/steps/steps.py:")
    assert when["doc_string"] == {"value": "loss=0.1\ntoken=***", "line": 17}
    assert isinstance(given["result"]["duration"], int)
    assert passing["after"][0]["result"]["status"] == "passed"
    assert [s["result"]["status"] for s in failing["steps"]] == ["passed", "failed", "skipped"]
    assert failing["steps"][1]["result"]["error_message"].startswith(
        "AssertionError: expected accuracy >= 0.9662, got 0.12\nTraceback"
    )
    assert cleanup["after"][0]["result"] == {
        "status": "failed",
        "duration": 20_000_000,
        "error_message": "cleanup failed: namespace kfval-1 still Terminating after 120 s (token ***)",
    }
    assert [(row["id"], row["name"], row["line"]) for row in (row_1, row_12)] == [
        ("report-sample;outline-with-a-count-of-<count>;small-counts;2", "Outline with a count of 1", 39),
        ("report-sample;outline-with-a-count-of-<count>;small-counts;3", "Outline with a count of 12", 40),
    ]
    assert [step["line"] for step in row_12["steps"]] == [34, 35]


def test_embeddings_are_named_redacted_and_binary_safe(
    jvm_run: tuple[Reports, subprocess.CompletedProcess[str]],
) -> None:
    reports, _ = jvm_run
    embeddings = scenarios(json.loads(reports.cucumber.read_text()))[0]["steps"][2]["embeddings"]
    by_name = {embedding.get("name"): embedding for embedding in embeddings}

    assert base64.b64decode(by_name["job log"]["data"]).decode() == "loss=0.1\ntoken=***"
    assert base64.b64decode(by_name[None]["data"]).decode() == "radish embed with ***"
    assert base64.b64decode(by_name["loss curve"]["data"]).startswith(b"\x89PNG\r\n")


def test_no_secret_reaches_the_reports_or_the_console(
    jvm_run: tuple[Reports, subprocess.CompletedProcess[str]],
) -> None:
    reports, result = jvm_run
    encoded = base64.b64encode(SECRET.encode()).decode()

    page = reports.cucumber.with_name("report.html").read_text()
    assert '<img alt="loss curve" src="data:image/png;base64,' in page
    for text in (reports.cucumber.read_text(), reports.junit.read_text(), page, result.stdout, result.stderr):
        assert SECRET not in text
        assert encoded not in text
    assert "token=***" in result.stdout


def test_the_junit_report_has_a_case_per_scenario(jvm_run: tuple[Reports, subprocess.CompletedProcess[str]]) -> None:
    reports, _ = jvm_run
    root = ET.fromstring(reports.junit.read_text())
    cases = list(root.iter("testcase"))
    failures = {case.get("name"): case.find("failure") for case in cases}

    assert [case.get("name") for case in cases] == [
        "Passing scenario with a table and a doc string",
        "Failing scenario",
        "Passing steps with a failing cleanup",
        "Outline with a count of 1 [count=1]",
        "Outline with a count of 12 [count=12]",
    ]
    assert all(case.get("time") for case in cases)
    assert {name for name, failure in failures.items() if failure is not None} == {
        "Failing scenario",
        "Passing steps with a failing cleanup",
        "Outline with a count of 12 [count=12]",
    }
    failure = failures["Failing scenario"]
    assert failure is not None
    assert failure.get("message", "").startswith('When a step fails with "expected accuracy >= 0.9662, got 0.12"')
    assert "Traceback" in (failure.text or "")
    properties = {p.get("name"): p.get("value") for p in cases[0].iterfind("properties/property")}
    assert properties["epochs"] == "1"
    assert "token=***" in (cases[0].findtext("system-out") or "")


def wait_for(path: Path, timeout_seconds: float) -> None:
    eventually_blocking(path.exists, f"{path} to appear", timeout=timeout_seconds, interval=0.05)


@pytest.mark.parametrize("exit_mode", ["unwind", "immediate"])
def test_sigterm_in_a_long_step_leaves_valid_partial_reports(tmp_path: Path, exit_mode: str) -> None:
    reports = Reports(tmp_path / "cucumber.json", tmp_path / "junit.xml", tmp_path / "marker")
    environment = {**reports.environment(cucumber.Dialect.JVM), "KFVAL_TEST_EXIT": exit_mode}
    process = subprocess.Popen(
        radish_command("interrupt"), cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(reports.marker, timeout_seconds=60)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        process.kill()
        process.wait()

    document = json.loads(reports.cucumber.read_text())
    assert schema_errors(document, cucumber.Dialect.JVM) == []
    quick, long = scenarios(document)
    assert quick["name"] == "A quick scenario"
    assert [s["result"]["status"] for s in long["steps"]] == ["passed", "failed", "skipped"]
    assert "did not finish" in long["steps"][1]["result"]["error_message"]
    cases = list(ET.fromstring(reports.junit.read_text()).iter("testcase"))
    assert [case.get("name") for case in cases] == ["A quick scenario", "A long scenario"]
    assert cases[1].find("failure") is not None
    assert not list(tmp_path.glob(".*.tmp"))
