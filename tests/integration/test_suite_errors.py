"""Bad input to the suite: each gets a clear message in the report, a failing exit code, and leaves nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kfval.embedded import launch
from tests.support.kubectl import Kubectl
from tests.support.suites import SuiteRun, run_suite

pytestmark = pytest.mark.integration
FIXTURES = "tests/fixtures/suite"


def kubeconfig_variant(
    cluster: launch.ClusterInfo, tmp_path: Path, *, server: str | None = None, token: str | None = None
) -> Path:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    if server is not None:
        config["clusters"][0]["cluster"]["server"] = server
    if token is not None:
        config["users"][0]["user"]["token"] = token
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def assert_nothing_left(kubectl: Kubectl, run: SuiteRun) -> None:
    assert run.run_id is not None, run.output
    left = kubectl.run("get", "namespaces", "-l", f"kfval.dev/run-id={run.run_id}", "-o", "name").stdout
    assert left.strip() == "", f"run {run.run_id} left {left}"


def assert_failed_with(run: SuiteRun, *fragments: str) -> None:
    assert run.returncode != 0, run.output
    messages = run.error_messages()
    for fragment in fragments:
        assert fragment in messages, f"{fragment!r} not in the report's error messages:\n{messages}"
    failures = run.junit.findall(".//failure")
    assert failures, "the JUnit report has no failure"


def test_unreachable_cluster(cluster: launch.ClusterInfo, tmp_path: Path) -> None:
    kubeconfig = kubeconfig_variant(cluster, tmp_path, server="https://127.0.0.1:1")
    run = run_suite(f"{FIXTURES}/namespace.feature", kubeconfig, tmp_path)
    assert_failed_with(run, "cannot reach the API server https://127.0.0.1:1", "target.kubeconfig")


def test_bad_token(cluster: launch.ClusterInfo, tmp_path: Path) -> None:
    kubeconfig = kubeconfig_variant(cluster, tmp_path, token="not-the-token")
    run = run_suite(f"{FIXTURES}/namespace.feature", kubeconfig, tmp_path)
    assert_failed_with(run, "refused the credentials (401 Unauthorized)", cluster.server)


def test_malformed_manifest(cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path) -> None:
    run = run_suite(f"{FIXTURES}/malformed.feature", cluster.kubeconfig, tmp_path)
    assert_failed_with(run, "tests/fixtures/suite/manifests/malformed.yaml:7: the YAML cannot be parsed")
    assert_nothing_left(kubectl, run)


def test_missing_variable(cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path) -> None:
    run = run_suite(f"{FIXTURES}/missing-variable.feature", cluster.kubeconfig, tmp_path)
    assert_failed_with(run, "manifests/missing-variable.yaml:4: variable ${config_name} is not defined")
    assert_nothing_left(kubectl, run)


def test_missing_kind(cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path) -> None:
    run = run_suite(f"{FIXTURES}/missing-kind.feature", cluster.kubeconfig, tmp_path)
    assert_failed_with(
        run, "MPIJob (kubeflow.org/v1) is not served by this cluster: is the Kubeflow training operator installed?"
    )
    assert_nothing_left(kubectl, run)


def test_image_that_cannot_be_pulled(cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path) -> None:
    run = run_suite(
        f"{FIXTURES}/image.feature",
        cluster.kubeconfig,
        tmp_path,
        "images.pytorch_mnist=registry.invalid/kfval/nope:1",
        "timeouts.image_pull=3",
    )
    assert_failed_with(run, "cannot start", "registry.invalid/kfval/nope:1")
    evidence = json.dumps(run.cucumber)
    assert "ImagePullBackOff" in evidence or "ErrImagePull" in evidence
    assert_nothing_left(kubectl, run)


def test_forbidden(cluster: launch.ClusterInfo, kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    """A service account without the right to create namespaces: the report names the verb and the resource
    (the cluster's 403 itself, with preflight off: test_preflight.py covers what preflight says first)."""
    kubectl.run("create", "serviceaccount", "qa", "-n", namespace)
    token = kubectl.run("create", "token", "qa", "-n", namespace).stdout.strip()
    kubeconfig = kubeconfig_variant(cluster, tmp_path, token=token)
    run = run_suite(f"{FIXTURES}/namespace.feature", kubeconfig, tmp_path, "run.preflight=false")
    assert_failed_with(
        run,
        "forbids create on Namespace",
        f'User "system:serviceaccount:{namespace}:qa" cannot create resource "namespaces"',
    )
    assert_nothing_left(kubectl, run)
