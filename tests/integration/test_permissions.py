"""The permissions table against the embedded cluster: the strict client door refuses what the table
lacks before sending it, and the suite runs its scenarios as a ServiceAccount bound to nothing but the
ClusterRole `kfval rbac` prints for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kfval import cli
from kfval.embedded import launch
from kfval.kube import client, errors, permissions
from tests.support.identities import service_account
from tests.support.kubectl import Kubectl
from tests.support.suites import run_suite

pytestmark = pytest.mark.integration


@pytest.fixture
def strict_conn(cluster: launch.ClusterInfo, tmp_path: Path) -> Iterator[client.Connection]:
    connection = client.connect(
        kubeconfig=cluster.kubeconfig,
        context=None,
        in_cluster=False,
        cache_dir=tmp_path / "cache",
        strict=permissions.grants(["pytorchjob"]),
    )
    yield connection
    connection.close()


def test_the_strict_door_refuses_a_kind_the_table_lacks(strict_conn: client.Connection, namespace: str) -> None:
    assert strict_conn.list("kubeflow.org/v1", "PyTorchJob", namespace)["items"] == []
    with pytest.raises(errors.PermissionNotInTableError, match="list configmaps"):
        strict_conn.list("v1", "ConfigMap", namespace)
    with pytest.raises(errors.PermissionNotInTableError, match=r"list pytorchjobs\.kubeflow\.org in every namespace"):
        strict_conn.list("kubeflow.org/v1", "PyTorchJob")


def test_the_strict_door_checks_subresources(strict_conn: client.Connection, namespace: str) -> None:
    with pytest.raises(errors.PermissionNotInTableError, match="get pods/exec"):
        strict_conn.exec("nowhere", namespace, ["true"], container=None, timeout_seconds=5)


def rbac(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(["rbac", *argv]) == 0
    return capsys.readouterr().out


def runner_kubeconfig(cluster: launch.ClusterInfo, kubectl: Kubectl, namespace: str, role: str, tmp_path: Path) -> Path:
    """A ServiceAccount `kfval` of `namespace`, bound to the ClusterRole `role` (YAML) and nothing else."""
    kubeconfig = service_account(cluster, kubectl, namespace, "kfval", tmp_path / "runner.kubeconfig")
    kubectl.run("apply", "-f", "-", stdin=role)
    return kubeconfig


def test_the_generated_role_is_enough_for_the_quick_training_scenarios(
    cluster: launch.ClusterInfo, kubectl: Kubectl, namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tags = "pytorchjob and not smoke"
    role = rbac(capsys, "--tags", tags, "--name", f"kfval-{namespace}", "--bind", f"{namespace}/kfval")
    kubeconfig = runner_kubeconfig(cluster, kubectl, namespace, role, tmp_path)
    run = run_suite("features/pytorchjob.feature", kubeconfig, tmp_path, tags=tags)
    assert run.returncode == 0, run.output[-3000:]
    statuses = {e["name"]: {s["result"]["status"] for s in e["steps"]} for f in run.cucumber for e in f["elements"]}
    assert len(statuses) >= 4 and all(found == {"passed"} for found in statuses.values()), statuses
    kubectl.run("delete", "clusterrolebinding,clusterrole", f"kfval-{namespace}")
