"""Two `kfval run` on one cluster at once (two CI jobs, two QA engineers): both pass, each cleans only what
it made, and `kfval janitor --run-id` of one run leaves the other's objects alone."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kfval.embedded import launch
from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking
from tests.support.suites import RUN_ID, kfval_argv

pytestmark = pytest.mark.integration
QUICK = "quick"
"""The tag of the features' scenarios that take seconds (refusals and fail-fast waits)."""
STALLED = "tests/fixtures/suite/image.feature"
NEVER_PULLED = ("images.pytorch_mnist=registry.invalid/kfval/nope:1", "timeouts.image_pull=600")
"""A PyTorchJob whose pods wait for an image that never comes: a run that holds its objects without using CPU."""


def start(argv: list[str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as output:
        return subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))


def run_id(log: Path) -> str | None:
    match = RUN_ID.search(log.read_text())
    return match.group(1) if match else None


def labelled(kubectl: Kubectl, kinds: str, run: str) -> list[str]:
    listed = kubectl.run("get", kinds, "-A", "-l", f"kfval.dev/run-id={run}", "-o", "name").stdout
    return listed.split()


def janitor(cluster: launch.ClusterInfo, run: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "kfval.cli", "janitor", "--run-id", run]
    argv += ["-u", "target.kind=kubeconfig", "-u", f"target.kubeconfig={cluster.kubeconfig}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_two_runs_at_once_both_pass_and_each_cleans_only_its_own(
    cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path
) -> None:
    runs = []
    for name in ("a", "b"):
        reports = tmp_path / name
        runs.append(
            (
                start(kfval_argv(["features"], cluster.kubeconfig, reports, tags=QUICK), tmp_path / f"{name}.log"),
                reports,
            )
        )
    for process, _ in runs:
        process.wait(timeout=300)
    logs = [(tmp_path / f"{name}.log").read_text() for name in ("a", "b")]
    for (process, reports), log in zip(runs, logs, strict=True):
        assert process.returncode == 0, log
        scenarios = [e for f in json.loads((reports / "cucumber.json").read_text()) for e in f["elements"]]
        assert len([e for e in scenarios if e["type"] == "scenario"]) == 3, "each run has its own report"
        assert {s["result"]["status"] for e in scenarios for s in e["steps"]} == {"passed"}
    ids = [run_id(tmp_path / f"{name}.log") for name in ("a", "b")]
    assert None not in ids and ids[0] != ids[1], ids
    for run in ids:
        assert run is not None
        assert labelled(kubectl, "namespaces", run) == []


def test_the_janitor_of_one_killed_run_leaves_the_other_runs_objects(
    cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path
) -> None:
    processes = []
    for name in ("mine", "theirs"):
        argv = kfval_argv([STALLED], cluster.kubeconfig, tmp_path / name, *NEVER_PULLED)
        processes.append(start(argv, tmp_path / f"{name}.log"))
    try:
        mine, theirs = [
            eventually_blocking(lambda name=name: run_id(tmp_path / f"{name}.log"), f"run {name} to start", timeout=60)
            for name in ("mine", "theirs")
        ]
        for run in (mine, theirs):
            eventually_blocking(lambda run=run: labelled(kubectl, "pytorchjobs", run), f"run {run}'s job", timeout=60)
    finally:
        for process in processes:
            process.send_signal(signal.SIGKILL)  # a lost CI node: no cleanup of its own
            process.wait(timeout=30)
    theirs_before = labelled(kubectl, "namespaces,pytorchjobs", theirs)

    swept = janitor(cluster, mine)
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert "deleted namespace kfval-" in swept.stdout
    assert labelled(kubectl, "namespaces,pytorchjobs", mine) == []
    assert labelled(kubectl, "namespaces,pytorchjobs", theirs) == theirs_before, "the janitor touched the other run"

    assert janitor(cluster, theirs).returncode == 0
    assert labelled(kubectl, "namespaces,pytorchjobs", theirs) == []


def test_two_local_runs_at_once_share_one_embedded_cluster(tmp_path: Path) -> None:
    """target.kind local: the second run waits for the first to start the cluster instead of starting another
    in the same state dir, and the first stops it only once the second has ended."""
    state_dir = tmp_path / "state"
    processes = []
    for name in ("a", "b"):
        reports = tmp_path / name
        argv = [sys.executable, "-m", "kfval.cli", "run", "features", "-t", QUICK]
        argv += ["-u", f"target.state_dir={state_dir}", "-u", f"reports.html={reports / 'report.html'}"]
        argv += ["-u", f"reports.cucumber={reports / 'cucumber.json'}", "-u", f"reports.junit={reports / 'junit.xml'}"]
        processes.append(start(argv, tmp_path / f"{name}.log"))
    for process in processes:
        process.wait(timeout=300)
    logs = [(tmp_path / f"{name}.log").read_text() for name in ("a", "b")]
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log
    servers = re.findall(r"kfval run r[0-9a-f]+ against (\S+)", "\n".join(logs))
    assert len(servers) == 2 and len(set(servers)) == 1, f"two clusters started: {servers}"
    assert launch.find(state_dir) is None, "the cluster outlived both runs"


def test_a_second_run_writing_the_same_reports_is_refused_before_the_cluster(
    cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path
) -> None:
    """Two runs from one checkout with the same report files would overwrite each other's reports after
    every scenario: the second is refused, naming the setting and the fix, and the first keeps its reports."""
    reports = tmp_path / "reports"
    first = start(kfval_argv([STALLED], cluster.kubeconfig, reports, *NEVER_PULLED), tmp_path / "first.log")
    try:
        running = eventually_blocking(lambda: run_id(tmp_path / "first.log"), "the first run to start", timeout=60)
        second = subprocess.run(
            kfval_argv(["features"], cluster.kubeconfig, reports, tags=QUICK),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert second.returncode == 2, second.stdout + second.stderr
        assert (
            f"reports.cucumber is '{reports / 'cucumber.json'}', which another run (pid {first.pid})" in second.stderr
        )
        assert "give this run report files of its own" in second.stderr
        assert RUN_ID.search(second.stdout + second.stderr) is None, "the refused run reached the cluster"
        assert labelled(kubectl, "pytorchjobs", running), "the first run goes on"
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=120)
    assert json.loads((reports / "cucumber.json").read_text())[0]["uri"] == STALLED


def test_the_run_that_started_the_embedded_cluster_stops_it_only_after_the_others(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    starter = launch.share(state_dir, die_with_parent=True)
    other = launch.share(state_dir, die_with_parent=True)
    assert (starter.started, other.started) == (True, False)
    assert other.info.server == starter.info.server
    releasing = threading.Thread(target=launch.release, args=(starter,), name="release-starter")
    releasing.start()
    releasing.join(timeout=2 * launch.RELEASE_POLL_SECONDS + 1)
    assert releasing.is_alive(), "the starter stopped the cluster while another run used it"
    assert launch.is_ready(starter.info)
    launch.release(other)
    releasing.join(timeout=60)
    assert not releasing.is_alive()
    assert launch.find(state_dir) is None
