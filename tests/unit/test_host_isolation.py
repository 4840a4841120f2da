"""The sandbox and network tests skip only where they cannot run.

As root with bubblewrap and iproute2 installed (CI runs `make test` as root), the sandbox passes
its self-test and pods get network namespaces, so every test guarded by `needs_root_and` runs;
a host that should manage but cannot fails here instead of skipping those tests quietly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet import network, sandbox
from tests.support import host
from tests.support.loop import on_loop


def test_a_skip_says_what_the_host_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "IS_ROOT", False)
    monkeypatch.setattr(host.shutil, "which", lambda tool: None)
    assert host.unmet("bwrap") == (
        "needs root (CI and `make test` run as root); needs bwrap (apt-get install bubblewrap)"
    )


@on_loop
async def test_as_root_with_bubblewrap_the_sandbox_is_bubblewrap(tmp_path: Path) -> None:
    if (reason := host.unmet("bwrap")) is not None:
        pytest.skip(reason)
    assert (await sandbox.detect_sandbox(tmp_path, SystemClock())).name == "bubblewrap"


@on_loop
async def test_as_root_with_iproute2_and_bubblewrap_pods_get_network_namespaces(tmp_path: Path) -> None:
    if (reason := host.unmet("ip", "bwrap")) is not None:
        pytest.skip(reason)
    pods = await network.detect_network(sandbox.cluster_prefix(tmp_path))
    try:
        assert isinstance(pods, network.NamespacedNetwork)
    finally:
        await pods.close()
