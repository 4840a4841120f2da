"""What a person sees on the console of a real run: the progress line under a waiting step (in place on a
terminal, plain lines in a log), clean failures, the end-of-run summary; and that none of it touches
radish's own lines or the reports."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded import launch
from tests.support.suites import RUN_ID, run_suite, suite_argv
from tests.support.terminal import run_on_pty, screen

pytestmark = pytest.mark.integration
FIXTURES = "tests/fixtures/suite"
ERASE = "\r\x1b[K"
RADISH_REWRITE = "\r\x1b[A\x1b[K"
"""How radish, on a terminal, goes back to the step's line to write it again in its final colour."""
VARYING = [
    (re.compile(r"\br[0-9a-f]{8}\b"), "<run>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"finished within .*"), "finished"),
    (re.compile(r" *\d+(\.\d+)?"), " <n>"),
]


def normalised(text: str) -> str:
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


def without_evidence(lines: list[str]) -> list[str]:
    """The screen without the evidence lines of a failure (events and back-off counts differ run to run)."""
    kept, inside = [], False
    for line in lines:
        if line.strip() == "evidence:":
            inside = True
        elif inside and not line.startswith(" " * 12):
            inside = False
        if not inside:
            kept.append(line)
    return kept


def cucumber_shape(path: Path) -> list[Any]:
    """A Cucumber JSON report without what differs from run to run: durations, embedded data (kept as
    mime type and name), numbers and run ids in names and in the first line of error messages."""

    def step(item: dict[str, Any]) -> dict[str, Any]:
        result = {k: v for k, v in item["result"].items() if k != "duration"}
        if "error_message" in result:
            result["error_message"] = normalised(result["error_message"].splitlines()[0])
        embeddings = [(e["mime_type"], e.get("name")) for e in item.get("embeddings", [])]
        return {
            **{k: v for k, v in item.items() if k not in ("result", "embeddings")},
            "result": result,
            "e": embeddings,
        }

    features = json.loads(path.read_text())
    return [
        {
            **{k: v for k, v in feature.items() if k != "elements"},
            "elements": [
                {
                    **{
                        k: normalised(json.dumps(v))
                        for k, v in element.items()
                        if k not in ("steps", "before", "after")
                    },
                    "steps": [step(s) for s in element["steps"]],
                    "hooks": [step(h) for h in element.get("before", []) + element.get("after", [])],
                }
                for element in feature["elements"]
            ],
        }
        for feature in features
    ]


def first_line(text: str | None) -> str:
    return normalised((text or "").splitlines()[0]) if text else ""


def junit_shape(path: Path) -> list[tuple[str, ...]]:
    root = ET.parse(path).getroot()
    return [
        (
            case.get("classname", ""),
            normalised(case.get("name", "")),
            *(
                f"{child.tag}:{first_line(child.get('message'))}"
                for child in case
                if child.tag in ("failure", "error", "skipped")
            ),
            *sorted(p.get("name", "") for p in case.iter("property")),
        )
        for case in root.iter("testcase")
    ]


def image_run(cluster: launch.ClusterInfo, reports: Path, *overrides: str) -> tuple[int, str]:
    """The unpullable-image scenario on a terminal: a pod wait of a few seconds, then a domain failure."""
    argv = suite_argv(
        f"{FIXTURES}/image.feature",
        cluster.kubeconfig,
        reports,
        "images.pytorch_mnist=registry.invalid/kfval/nope:1",
        "timeouts.image_pull=4",
        f"reports.html={reports / 'report.html'}",
        *overrides,
    )
    argv.remove("--no-ansi")  # a terminal as a person has it: radish draws with ANSI sequences
    return run_on_pty(argv)


def test_on_a_terminal_the_progress_line_shows_and_leaves_radish_and_the_reports_as_they_were(
    cluster: launch.ClusterInfo, tmp_path: Path
) -> None:
    code_on, shown = image_run(cluster, tmp_path / "on")
    code_off, plain = image_run(cluster, tmp_path / "off", "console.progress=false")
    assert code_on == code_off == 1, shown
    drawn = re.findall(r"\r\x1b\[K {10}(unpullable: [^\r]*)", shown)
    assert drawn, f"no progress line was drawn:\n{shown!r}"
    assert any("pods" in line and " s" in line for line in drawn), drawn
    assert ERASE + "          unpullable" not in plain
    # every line drawn is wiped before radish writes the step again, so its cursor-up lands on the step
    for before_rewrite in shown.split(RADISH_REWRITE)[:-1]:
        last = before_rewrite.rsplit("\n", 1)[-1]
        assert last.replace(ERASE, "").strip("\r") == "" or last.endswith(ERASE), repr(last[-300:])
    screen_on = screen(shown.replace(str(tmp_path / "on"), "<reports>"))
    screen_off = screen(plain.replace(str(tmp_path / "off"), "<reports>"))
    assert not any("unpullable:" in line and line.lstrip().startswith("unpullable") for line in screen_on)
    assert [normalised(line) for line in without_evidence(screen_on)] == [
        normalised(line) for line in without_evidence(screen_off)
    ]
    assert cucumber_shape(tmp_path / "on" / "cucumber.json") == cucumber_shape(tmp_path / "off" / "cucumber.json")
    assert junit_shape(tmp_path / "on" / "junit.xml") == junit_shape(tmp_path / "off" / "junit.xml")


def test_a_domain_failure_reads_as_its_message_and_evidence_and_the_run_ends_with_a_summary(
    cluster: launch.ClusterInfo, tmp_path: Path
) -> None:
    _code, shown = image_run(cluster, tmp_path)
    lines = screen(shown)
    failure = next(i for i, line in enumerate(lines) if "WorkloadFailedError: " in line)
    assert "cannot start" in lines[failure] and "registry.invalid/kfval/nope:1" in "\n".join(lines[failure:])
    assert "          evidence:" in lines[failure:]
    assert "Traceback" not in shown
    report = json.loads((tmp_path / "cucumber.json").read_text())
    messages = [s["result"].get("error_message", "") for f in report for e in f["elements"] for s in e["steps"]]
    failed = next(m for m in messages if "WorkloadFailedError" in m)
    # The report keeps the whole domain message (a user's mistake or the product's failure, not a bug): no traceback.
    assert "cannot start" in failed and "registry.invalid/kfval/nope:1" in failed
    assert "Traceback" not in failed
    run_id = RUN_ID.search(shown)
    assert run_id is not None
    summary = lines[lines.index(next(line for line in lines if line.startswith(f"kfval run {run_id.group(1)}:"))) :]
    assert summary[0] == f"kfval run {run_id.group(1)}: 1 scenario(s), 1 failed"
    assert re.fullmatch(r"  FAILED +\d+\.\d s  A PyTorchJob with an image nobody can pull", summary[1]), summary
    assert summary[2] == f"reports: {tmp_path / 'cucumber.json'}, {tmp_path / 'junit.xml'}, {tmp_path / 'report.html'}"


def test_in_a_log_a_long_wait_writes_a_plain_line_every_15_s_at_most(
    cluster: launch.ClusterInfo, tmp_path: Path
) -> None:
    run = run_suite(
        f"{FIXTURES}/image.feature",
        cluster.kubeconfig,
        tmp_path,
        "images.pytorch_mnist=registry.invalid/kfval/nope:1",
        "timeouts.image_pull=22",
    )
    assert run.returncode == 1, run.output
    assert "\x1b" not in run.output
    lines = run.output.splitlines()
    progress = [line for line in lines if line.startswith("          ... unpullable: ")]
    assert 1 <= len(progress) <= 2, run.output
    assert all(re.search(r" · (1[5-9]|2\d) s$", line) for line in progress), progress
    step = '        Then the PyTorchJob "unpullable" succeeds with reason "PyTorchJobSucceeded"'
    first, second = (i for i, line in enumerate(lines) if line == step)
    assert all(first < lines.index(line) < second for line in progress), run.output


def test_a_bug_in_a_step_prints_its_traceback(cluster: launch.ClusterInfo, tmp_path: Path) -> None:
    run = run_suite(f"{FIXTURES}/bug.feature", cluster.kubeconfig, tmp_path)
    assert run.returncode == 1, run.output
    assert "Traceback (most recent call last)" in run.output
    assert "KeyError: 'replica type'" in run.output
    assert "Traceback (most recent call last)" in run.error_messages()
