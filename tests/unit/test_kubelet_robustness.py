"""The kubelet survives what used to end it or leak: a crashing prober, a 410 on its pod watch, deleted pods' files.

Uses the fake node of the test support (real store and kubelet, fake sandbox and network).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kfval.embedded.store import fanout
from tests.support.kubelet import NS, Node, container, on_node, phase
from tests.support.polling import eventually


@on_node
async def test_a_crashing_prober_is_logged_and_the_container_still_finishes(node: Node) -> None:
    node.probes.broken = True
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 0.01}
    node.create_pod("probed", container("c", "exit:0", readinessProbe=probe))
    await eventually(lambda: phase(node, "probed") == "Succeeded", "pod probed Succeeded")
    assert node.pod("probed")["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0


async def _delete_and_wait_for_cleanup(node: Node, name: str, **options: Any) -> str:
    uid = str(node.pod(name)["metadata"]["uid"])
    pod_dir = node.kubelet.pods_root / uid
    assert pod_dir.is_dir()
    node.store.delete(node.rt("pods"), NS, name, **options)
    await eventually(lambda: not node.exists(name), f"pod {name} removed")
    await eventually(lambda: not pod_dir.exists(), f"the directory of pod {name} removed")
    assert uid in node.logs.removed
    assert uid in node.hosts.forgotten
    return uid


@on_node
async def test_a_deleted_pods_directory_logs_and_hosts_file_are_removed(node: Node) -> None:
    node.create_pod("done", container("c", "say:hi", "exit:0"))
    node.create_pod("busy", container("c", "sleep"), policy="Always")
    await eventually(lambda: phase(node, "done") == "Succeeded" and phase(node, "busy") == "Running", "both pods")
    await _delete_and_wait_for_cleanup(node, "done")
    await _delete_and_wait_for_cleanup(node, "busy", grace_period_seconds=0)


def test_the_kubelet_keeps_running_pods_after_its_watch_falls_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "MAX_PENDING_EVENTS", 3)

    @on_node
    async def check(node: Node) -> None:
        await node.harness.settle()  # the kubelet opens its pod watch
        for index in range(6):  # a burst without a pause: the kubelet's pod watch is closed with 410
            node.create_pod(f"burst-{index}", container("c", "exit:0"))
        await eventually(lambda: all(phase(node, f"burst-{i}") == "Succeeded" for i in range(6)), "the burst")
        node.create_pod("after", container("c", "exit:0"))
        await eventually(lambda: phase(node, "after") == "Succeeded", "the pod after the burst")

    check(tmp_path)
