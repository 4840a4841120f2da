"""`launch.reap`: what a cluster killed outright left on its state dir is killed by whoever started it, and
nothing is touched while the cluster recorded there runs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kfval.embedded import launch
from kfval.embedded.kubelet import processes
from tests.support.polling import eventually_blocking


@pytest.fixture
def leftover() -> Iterator[subprocess.Popen[bytes]]:
    """A process group leader as a pod container's outer sandbox is: its own session."""
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield process
    process.kill()
    process.wait()


def recorded(state_dir: Path, *, cluster_pid: int, pods: list[int]) -> None:
    """A state dir as a cluster leaves it: its record, and the pid file of its containers."""
    (state_dir / "cluster.json").write_text(json.dumps({"server": "https://127.0.0.1:1", "pid": cluster_pid}))
    registry = processes.PidRegistry(state_dir)
    for pid in pods:
        registry.add(pid)


def dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def test_what_a_dead_cluster_left_is_killed(tmp_path: Path, leftover: subprocess.Popen[bytes]) -> None:
    recorded(tmp_path, cluster_pid=dead_pid(), pods=[leftover.pid])
    left = launch.reap(tmp_path)
    assert left is not None and left.startswith("1 process(es) of 1 pod container(s)"), left
    eventually_blocking(lambda: leftover.poll() is not None, "the leftover to be killed")
    assert not (tmp_path / processes.PID_FILE).exists()


def test_nothing_is_touched_while_the_cluster_runs(tmp_path: Path, leftover: subprocess.Popen[bytes]) -> None:
    alive_cluster = subprocess.Popen(["sleep", "60"])
    try:
        recorded(tmp_path, cluster_pid=alive_cluster.pid, pods=[leftover.pid])
        assert launch.reap(tmp_path) is None
        assert leftover.poll() is None
    finally:
        alive_cluster.kill()
        alive_cluster.wait()


def test_a_state_dir_with_nothing_left_reaps_nothing(tmp_path: Path) -> None:
    recorded(tmp_path, cluster_pid=dead_pid(), pods=[])
    assert launch.reap(tmp_path) is None
