"""Preflight against the embedded cluster: everything there, one permission taken from the generated
role (preflight names verb and resource, and `kfval run` stops before its first scenario), and a CRD
removed (preflight names it and the feature that needs it; that feature's scenarios fail at once with the
reason, or are skipped with it under run.skip_missing, and nothing of them reaches the cluster)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kfval import cli
from kfval.embedded import launch
from tests.support.identities import service_account
from tests.support.kubectl import Kubectl
from tests.support.suites import run_suite

pytestmark = pytest.mark.integration
QUICK = "pytorchjob and not smoke"


def preflight(capsys: pytest.CaptureFixture[str], kubeconfig: Path, tags: str) -> tuple[int, str]:
    code = cli.main(
        ["preflight", "--tags", tags, "-u", "target.kind=kubeconfig", "-u", f"target.kubeconfig={kubeconfig}"]
    )
    return code, capsys.readouterr().out


def missing(report: str) -> list[str]:
    """The MISSING lines of a preflight table, with their columns' padding squeezed."""
    return [" ".join(line.split()) for line in report.splitlines() if "MISSING" in line]


def role_without(role_yaml: str, resource: str, verb: str) -> str:
    """The generated ClusterRole (and binding) with `verb` on `resource` taken away."""
    documents = list(yaml.safe_load_all(role_yaml))
    rules = []
    for rule in documents[0]["rules"]:
        if resource in rule.get("resources", []) and verb in rule["verbs"]:
            rest = [r for r in rule["resources"] if r != resource]
            rules += [{**rule, "resources": rest}] if rest else []
            if len(rule["verbs"]) > 1:
                rules.append({**rule, "resources": [resource], "verbs": [v for v in rule["verbs"] if v != verb]})
        else:
            rules.append(rule)
    documents[0]["rules"] = rules
    return yaml.safe_dump_all(documents)


def test_preflight_finds_nothing_missing_on_the_embedded_cluster(
    cluster: launch.ClusterInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = preflight(capsys, cluster.kubeconfig, "training")
    assert code == 0, out
    assert "preflight: nothing missing" in out
    assert "controller the Kubeflow training operator           built into the embedded cluster" in out
    assert "CRD tfjobs.kubeflow.org" in out and "may pods/log" in out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "ok image pytorch_mnist kfval/pytorch-mnist:latest is held by node kfval-node" in lines, out


def test_a_permission_taken_from_the_role_is_named_and_stops_the_run_before_any_scenario(
    cluster: launch.ClusterInfo, kubectl: Kubectl, namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    role_name = f"kfval-{namespace}"
    assert cli.main(["rbac", "--tags", QUICK, "--name", role_name, "--bind", f"{namespace}/kfval"]) == 0
    kubectl.run("apply", "-f", "-", stdin=role_without(capsys.readouterr().out, "events", "list"))
    kubeconfig = service_account(cluster, kubectl, namespace, "kfval", tmp_path / "runner.kubeconfig")
    try:
        code, out = preflight(capsys, kubeconfig, QUICK)
        assert code == 1, out
        assert missing(out) == ["MISSING may events list denied (cluster-wide)"], out
        prefix = f"pf{uuid.uuid4().hex[:6]}"
        run = run_suite(
            "features/pytorchjob.feature", kubeconfig, tmp_path, f"target.namespace_prefix={prefix}", tags=QUICK
        )
    finally:
        kubectl.run("delete", "clusterrolebinding,clusterrole", role_name)
    assert run.returncode != 0
    assert "may events" in run.error_messages() and "list denied" in run.error_messages()
    statuses = [
        step["result"]["status"] for f in run.cucumber for element in f["elements"] for step in element["steps"]
    ]
    assert "failed" in statuses and "passed" not in statuses, statuses
    namespaces = kubectl.run("get", "namespaces", "-o", "name").stdout
    assert f"namespace/{prefix}-" not in namespaces, "a scenario started although preflight failed"


@pytest.fixture
def private_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launch.ClusterInfo]:
    """A cluster of this test alone: it loses a CRD."""
    state_dir = tmp_path_factory.mktemp("private-cluster")
    info = launch.start(state_dir, die_with_parent=True)
    yield info
    launch.stop(state_dir)


def test_a_removed_crd_is_named_with_the_feature_that_needs_it(
    private_cluster: launch.ClusterInfo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Kubectl(private_cluster.kubeconfig, tmp_path / "cache").run("delete", "crd", "tfjobs.kubeflow.org")
    code, out = preflight(capsys, private_cluster.kubeconfig, "training")
    assert code == 1, out
    assert missing(out) == [
        "MISSING CRD tfjobs.kubeflow.org not installed (TFJob kubeflow.org/v1, needed by feature tfjob)"
    ], out
    assert "fix: install the Kubeflow training operator" in out


def test_the_scenarios_of_a_feature_whose_crd_is_missing_fail_at_once_or_are_skipped(
    private_cluster: launch.ClusterInfo, tmp_path: Path
) -> None:
    kubectl = Kubectl(private_cluster.kubeconfig, tmp_path / "cache")
    kubectl.run("delete", "crd", "tfjobs.kubeflow.org")
    reason = "CRD tfjobs.kubeflow.org: not installed (TFJob kubeflow.org/v1, needed by feature tfjob)"
    prefix = f"pf{uuid.uuid4().hex[:6]}"
    failing = tmp_path / "failing"
    failing.mkdir()
    run = run_suite(
        "features/tfjob.feature",
        private_cluster.kubeconfig,
        failing,
        f"target.namespace_prefix={prefix}",
        tags="tfjob and not mnist",
    )
    assert run.returncode != 0
    elements = run.cucumber[0]["elements"]
    scenarios = [element for element in elements if element["type"] == "scenario"]
    steps = [step for element in elements for step in element["steps"]]
    failed = [step for step in steps if step["result"]["status"] == "failed"]
    assert len(failed) == len(scenarios) == 4, steps
    assert all(reason in step["result"]["error_message"] for step in failed), failed
    assert {step["result"]["status"] for step in steps} == {"failed", "skipped"}
    skipping = tmp_path / "skipping"
    skipping.mkdir()
    run = run_suite(
        "features/tfjob.feature",
        private_cluster.kubeconfig,
        skipping,
        f"target.namespace_prefix={prefix}",
        "run.skip_missing=true",
        tags="tfjob and not mnist",
    )
    assert run.returncode == 0, run.output
    steps = [step for element in run.cucumber[0]["elements"] for step in element["steps"]]
    assert {step["result"]["status"] for step in steps} == {"skipped"}
    assert all(reason in step["result"].get("error_message", "") for step in steps), steps[0]
    assert all(case.find("skipped") is not None for case in run.junit.iter("testcase"))
    assert f"namespace/{prefix}-" not in kubectl.run("get", "namespaces", "-o", "name").stdout
