"""The embedded cluster SIGKILLed in the middle of training: `kfval run` (target local) fails at once with a
message that says the cluster is gone, exits non-zero, hangs nowhere and leaves no pod process behind.

The run starts a cluster of its own (its own state dir), as `kfval run` does on a fresh machine, so that the
test can kill it without touching the session's cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from kfval.embedded import launch
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration
KFVAL = str(Path(sys.executable).parent / "kfval")
TRAINING = "/opt/mnist/mnist.py"
OUTAGE_BOUND_SECONDS = 30


def training_under(pid: int) -> list[psutil.Process]:
    """The training processes the cluster of `pid` runs (not another test's or engineer's)."""
    try:
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for process in descendants:
        try:
            if any(TRAINING in part for part in process.cmdline()):
                found.append(process)
        except psutil.NoSuchProcess:
            continue
    return found


def started_from(state_dir: Path) -> list[psutil.Process]:
    """Every process whose command line names the cluster's state dir: its pods' sandboxes (bwrap binds
    the pod's files from there), whoever started them, also one started as the cluster died."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(state_dir) in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie waiting to be reaped runs nothing any more)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            continue
    return running


def test_a_killed_cluster_fails_the_run_saying_it_is_gone(tmp_path: Path, mnist_cache: Path) -> None:
    state_dir = tmp_path / "cluster"
    argv = [KFVAL, "run", "tests/fixtures/suite/long.feature"]
    for pair in (
        "target.kind=local",
        f"target.state_dir={state_dir}",
        f"timeouts.api_outage={OUTAGE_BOUND_SECONDS}",
        f"reports.cucumber={tmp_path / 'cucumber.json'}",
        f"reports.junit={tmp_path / 'junit.xml'}",
        f"reports.html={tmp_path / 'report.html'}",
    ):
        argv += ["-u", pair]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        info = eventually_blocking(lambda: launch.find(state_dir), "the run to start its cluster", timeout=60)
        eventually_blocking(lambda: len(training_under(info.pid)) >= 2, "the master and worker to train", timeout=180)
        pods = psutil.Process(info.pid).children(recursive=True)
        os.kill(info.pid, signal.SIGKILL)
        killed = time.monotonic()
        output, _ = process.communicate(timeout=OUTAGE_BOUND_SECONDS + 60)
        took = time.monotonic() - killed
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0, output
    assert "the cluster is gone" in output, output
    assert f"pid {info.pid}" in output, output
    assert "Traceback" not in output, output
    assert took < OUTAGE_BOUND_SECONDS, f"the run took {took:.1f} s to end after the cluster died"
    eventually_blocking(lambda: not alive(pods), "the cluster's pod processes to end", timeout=30)
    assert not alive(started_from(state_dir)), [process.info["cmdline"][:3] for process in started_from(state_dir)]
    print(f"fault timings: cluster SIGKILLed mid-training: the run ended {took:.1f} s later, exit {process.returncode}")
