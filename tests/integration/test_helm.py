"""Helm v4 (helm-python-sdk, in a subprocess) installs, upgrades, rolls back and uninstalls a chart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded import launch
from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.integration
CHART = Path(__file__).parent / "charts" / "web"
DRIVER = Path(__file__).parent / "helm_driver.py"


def helm(cluster: launch.ClusterInfo, namespace: str, action: str, *args: str) -> Any:
    result = subprocess.run(
        [sys.executable, str(DRIVER), str(cluster.kubeconfig), namespace, action, "site", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"helm {action} failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def pods(kubectl: Kubectl, namespace: str) -> list[dict[str, Any]]:
    listed = json.loads(kubectl.run("get", "pods", "-n", namespace, "-l", "app=site", "-o", "json").stdout)
    return [p for p in listed["items"] if not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict[str, Any]) -> bool:
    conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
    return pod["status"]["phase"] == "Running" and conditions.get("Ready") == "True"


def test_install_upgrade_rollback_uninstall(cluster: launch.ClusterInfo, kubectl: Kubectl, namespace: str) -> None:
    installed = helm(cluster, namespace, "install", str(CHART), json.dumps({"message": "first"}))
    assert installed["status"] == "deployed"
    running = pods(kubectl, namespace)
    assert len(running) == 1 and ready(running[0]), "install returned before the pods were Running and Ready"

    upgraded = helm(cluster, namespace, "upgrade", str(CHART), json.dumps({"message": "second", "replicas": 2}))
    assert upgraded["revision"] == 2
    running = pods(kubectl, namespace)
    assert len(running) == 2 and all(ready(p) for p in running)
    assert {p["metadata"]["annotations"]["message"] for p in running} == {"second"}
    settings = json.loads(kubectl.run("get", "cm", "site-settings", "-n", namespace, "-o", "json").stdout)
    assert settings["data"]["message"] == "second"

    helm(cluster, namespace, "rollback", "1")
    settings = json.loads(kubectl.run("get", "cm", "site-settings", "-n", namespace, "-o", "json").stdout)
    assert settings["data"]["message"] == "first"
    history = helm(cluster, namespace, "history")
    assert [r["revision"] for r in history] == [1, 2, 3]

    helm(cluster, namespace, "uninstall")
    leftovers = kubectl.run("get", "deploy,svc,cm", "-n", namespace, "-o", "name").stdout.split()
    assert [name for name in leftovers if "site" in name] == []
    releases = kubectl.run("get", "secrets", "-n", namespace, "-l", "owner=helm", "-o", "name").stdout
    assert releases.strip() == ""
