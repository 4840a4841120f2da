"""No process of the cluster outlives it: not after `kfval cluster down`, not after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from kfval.embedded import launch
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

SLEEPER = """
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  containers:
  - {name: main, image: busybox, command: ["sh", "-c", "echo kfval-marker-%s; sleep 3600"]}
"""


def leftovers(state_dir: Path) -> list[psutil.Process]:
    """Processes whose command line mentions the state dir or whose environment came from it."""
    found = []
    for proc in psutil.process_iter(["cmdline", "pid"]):
        if proc.pid == os.getpid():
            continue
        if any(str(state_dir) in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


def sleepers(marker: str) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if any(marker in part for part in p.info["cmdline"] or [])]


def kfval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kfval.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def start_sleeper(info: launch.ClusterInfo, marker: str, cache: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(info.kubeconfig)}
    subprocess.run(
        ["/usr/bin/kubectl", "--cache-dir", str(cache), "apply", "-f", "-"],
        input=SLEEPER % marker,
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    eventually_blocking(lambda: sleepers(f"kfval-marker-{marker}"), "the sleeper pod's process", timeout=30)


def wait_gone(check: Callable[[], list[Any]], seconds: float = 15) -> None:
    eventually_blocking(lambda: not check(), "nothing left alive", timeout=seconds)


def test_nothing_outlives_cluster_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    up = kfval("cluster", "up", "--detach", "--state-dir", str(state))
    assert up.returncode == 0, up.stderr
    info = launch.find(state)
    assert info is not None
    start_sleeper(info, "down", tmp_path / "cache")
    down = kfval("cluster", "down", "--state-dir", str(state))
    assert down.returncode == 0, down.stderr
    wait_gone(lambda: sleepers("kfval-marker-down") + leftovers(state))
    assert kfval("cluster", "status", "--state-dir", str(state)).returncode == 1


def test_nothing_outlives_a_sigkill_and_up_again_works(tmp_path: Path) -> None:
    state = tmp_path / "state"
    info = launch.start(state, die_with_parent=True)
    start_sleeper(info, "killed", tmp_path / "cache")
    os.kill(info.pid, signal.SIGKILL)
    wait_gone(lambda: sleepers("kfval-marker-killed"))
    again = launch.start(state, die_with_parent=True)
    try:
        assert launch.is_ready(again)
        assert not sleepers("kfval-marker-killed")
    finally:
        launch.stop(state)
    wait_gone(lambda: leftovers(state))


def test_an_open_watch_does_not_hold_up_stopping_the_cluster(tmp_path: Path) -> None:
    """The HTTP server waits up to its shutdown timeout (1 s) for requests still running: every watch
    stream must end first, or each run's `launch.stop` waits that long (`bench/suite_overhead.py`)."""
    state_dir = tmp_path / "cluster"
    info = launch.start(state_dir, die_with_parent=True)
    watcher = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(info.kubeconfig), "get", "namespaces", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        watcher.stdout.readline()  # the watch is open once the list before it has been printed
        started = time.monotonic()
        launch.stop(state_dir)
        assert time.monotonic() - started < 1.0
    finally:
        watcher.kill()
        watcher.communicate()
