"""The permissions table against the embedded cluster: the strict client door refuses what the table
lacks before sending it, and the suite runs its scenarios as a ServiceAccount bound to nothing but the
ClusterRole `kfval rbac` prints for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


@pytest.fixture
def runner_for(
    cluster: launch.ClusterInfo, kubectl: Kubectl, namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[[str], Path]]:
    """A kubeconfig of the ServiceAccount `kfval`, bound to `kfval rbac --tags <tags>` and nothing else."""
    role = f"kfval-{namespace}"

    def bound(tags: str) -> Path:
        kubectl.run(
            "apply", "-f", "-", stdin=rbac(capsys, "--tags", tags, "--name", role, "--bind", f"{namespace}/kfval")
        )
        return service_account(cluster, kubectl, namespace, "kfval", tmp_path / "runner.kubeconfig")

    yield bound
    kubectl.run("delete", "clusterrolebinding,clusterrole", role, check=False)


@pytest.mark.parametrize(
    ("feature", "tags", "scenarios"),
    [
        ("features/pytorchjob.feature", "pytorchjob and not smoke", 4),
        # Helm runs as a child process with the run's kubeconfig: install, upgrade, and uninstall at cleanup
        ("features/helm_upgrade.feature", "helm and smoke", 1),
    ],
)
def test_the_generated_role_is_enough_for_the_scenarios_it_was_generated_for(
    runner_for: Callable[[str], Path], tmp_path: Path, feature: str, tags: str, scenarios: int
) -> None:
    run = run_suite(feature, runner_for(tags), tmp_path, tags=tags)
    assert run.returncode == 0, run.output[-3000:]
    statuses = {
        e["name"]: {s["result"]["status"] for s in e["steps"]}
        for f in run.cucumber
        for e in f["elements"]
        if e.get("type") == "scenario"
    }
    assert len(statuses) == scenarios and all(found == {"passed"} for found in statuses.values()), statuses
