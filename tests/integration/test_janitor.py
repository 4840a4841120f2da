"""`kfval janitor --run-id` deletes what one run left behind, and nothing that belongs to another run or a person."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kfval.embedded import launch
from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.integration


def leftover(kubectl: Kubectl, name: str, run_id: str | None) -> None:
    kubectl.run("create", "namespace", name)
    if run_id is not None:
        kubectl.run("label", "namespace", name, f"kfval.dev/run-id={run_id}", "app.kubernetes.io/managed-by=kfval")


def exists(kubectl: Kubectl, name: str) -> bool:
    return kubectl.run("get", "namespace", name, check=False).returncode == 0


def test_janitor_removes_only_its_runs_namespaces(cluster: launch.ClusterInfo, kubectl: Kubectl) -> None:
    leftover(kubectl, "jan-mine-1", "rdead0001")
    leftover(kubectl, "jan-mine-2", "rdead0001")
    leftover(kubectl, "jan-other", "ralive002")
    leftover(kubectl, "jan-person", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kfval.cli",
            "janitor",
            "--run-id",
            "rdead0001",
            "-u",
            "target.kind=kubeconfig",
            "-u",
            f"target.kubeconfig={cluster.kubeconfig}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path.cwd(),
    )
    assert result.returncode == 0, result.stderr
    assert "deleted namespace jan-mine-1" in result.stdout and "deleted namespace jan-mine-2" in result.stdout
    assert not exists(kubectl, "jan-mine-1") and not exists(kubectl, "jan-mine-2")
    assert exists(kubectl, "jan-other") and exists(kubectl, "jan-person")
    for name in ("jan-other", "jan-person"):
        kubectl.run("delete", "namespace", name, "--wait=false")


def test_janitor_names_a_release_of_the_run_outside_its_namespaces(
    cluster: launch.ClusterInfo, kubectl: Kubectl
) -> None:
    leftover(kubectl, "jan-helm-mine", "rdead0003")
    leftover(kubectl, "jan-helm-theirs", None)
    for namespace in ("jan-helm-mine", "jan-helm-theirs"):
        kubectl.run(
            "-n", namespace, "create", "secret", "generic", "sh.helm.release.v1.kf.v1", "--from-literal=release=x"
        )
        kubectl.run(
            "-n",
            namespace,
            "label",
            "secret",
            "sh.helm.release.v1.kf.v1",
            "owner=helm",
            "name=kf",
            "kfval.dev/run-id=rdead0003",
        )
    result = subprocess.run(
        [sys.executable, "-m", "kfval.cli", "janitor", "--run-id", "rdead0003",
         "-u", "target.kind=kubeconfig", "-u", f"target.kubeconfig={cluster.kubeconfig}"],
        capture_output=True, text=True, timeout=120, check=False, cwd=Path.cwd(),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert not exists(kubectl, "jan-helm-mine")
    assert exists(kubectl, "jan-helm-theirs"), "a namespace the run did not make is never deleted"
    assert (
        'Helm release "kf" of run rdead0003 lives in namespace "jan-helm-theirs", which the run did not make: '
        "remove it with `helm uninstall kf -n jan-helm-theirs`"
    ) in result.stderr
    kubectl.run("delete", "namespace", "jan-helm-theirs", "--wait=false")
