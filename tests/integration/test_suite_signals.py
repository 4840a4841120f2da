"""SIGTERM in the middle of training: the run cleans up after itself and still leaves valid, partial reports."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import jsonschema
import psutil
import pytest

from kfval.embedded import launch
from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking
from tests.support.suites import finished, suite_argv

pytestmark = pytest.mark.integration
SCHEMA = Path(__file__).parents[1] / "fixtures" / "cucumber-json-schema" / "cucumber-jvm.json"
TRAINING = "/opt/mnist/mnist.py"


def training_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(TRAINING in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def test_sigterm_mid_training_cleans_up_and_leaves_valid_reports(
    cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path
) -> None:
    argv = suite_argv("tests/fixtures/suite/long.feature", cluster.kubeconfig, tmp_path)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        eventually_blocking(lambda: len(training_processes()) >= 2, "the master and worker to train", timeout=180)
        time.sleep(2)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    run = finished(process, tmp_path, output)
    assert run.returncode == 128 + signal.SIGTERM, output
    assert "SIGTERM received" in output

    report = run.cucumber
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    scenario = report[0]["elements"][-1]
    statuses = [step["result"]["status"] for step in scenario["steps"]]
    assert statuses[0] == "passed" and "failed" in statuses, statuses
    assert run.junit.findall(".//testcase")

    assert run.run_id is not None
    left = kubectl.run("get", "namespaces,pods", "-A", "-l", f"kfval.dev/run-id={run.run_id}", "-o", "name")
    assert left.stdout.strip() == ""
    eventually_blocking(lambda: not training_processes(), "the training processes to end", timeout=60)
