"""A restricted identity against the embedded cluster: a ServiceAccount's token, RBAC, and 403s worded
as kube-apiserver words them, seen through kubectl, the official Python client and the suite's client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from kfval.embedded import launch
from kfval.kube import client as kube_client
from kfval.kube import errors
from tests.support.identities import kubeconfig_with_token
from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Identity:
    """The service account `qa` of a test namespace, with a kubeconfig that holds its token."""

    namespace: str
    user: str
    kubeconfig: Path
    kubectl: Kubectl


@pytest.fixture
def qa(cluster: launch.ClusterInfo, kubectl: Kubectl, namespace: str, tmp_path: Path) -> Identity:
    kubectl.run("-n", namespace, "create", "serviceaccount", "qa")
    token = kubectl.run("-n", namespace, "create", "token", "qa").stdout.strip()
    kubeconfig = kubeconfig_with_token(cluster, token, tmp_path / "qa.kubeconfig")
    return Identity(
        namespace, f"system:serviceaccount:{namespace}:qa", kubeconfig, Kubectl(kubeconfig, tmp_path / "qa-cache")
    )


@pytest.fixture
def qa_api(qa: Identity) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(qa.kubeconfig))
    yield api
    api.close()


def bind_view(kubectl: Kubectl, qa: Identity) -> None:
    kubectl.run(
        "-n",
        qa.namespace,
        "create",
        "rolebinding",
        "qa-view",
        "--clusterrole=view",
        f"--serviceaccount={qa.namespace}:qa",
    )


def test_without_a_binding_get_pods_is_forbidden_with_the_exact_message(qa: Identity) -> None:
    denied = qa.kubectl.run("-n", qa.namespace, "get", "pods", check=False)
    assert denied.returncode == 1
    assert denied.stderr.strip() == (
        f'Error from server (Forbidden): pods is forbidden: User "{qa.user}" cannot list resource "pods" '
        f'in API group "" in the namespace "{qa.namespace}"'
    )


def test_view_allows_reading_and_a_create_is_forbidden_naming_create_and_pods(kubectl: Kubectl, qa: Identity) -> None:
    kubectl.run("-n", qa.namespace, "create", "configmap", "settings", "--from-literal=a=1")
    bind_view(kubectl, qa)
    assert qa.kubectl.run("-n", qa.namespace, "get", "configmap", "settings", "-o", "name").stdout.strip() == (
        "configmap/settings"
    )
    assert "No resources found" in qa.kubectl.run("-n", qa.namespace, "get", "pods").stderr
    denied = qa.kubectl.run("-n", qa.namespace, "run", "probe", "--image=busybox", check=False)
    assert denied.returncode == 1
    assert denied.stderr.strip() == (
        f'Error from server (Forbidden): pods is forbidden: User "{qa.user}" cannot create resource "pods" '
        f'in API group "" in the namespace "{qa.namespace}"'
    )
    elsewhere = qa.kubectl.run("-n", "default", "get", "pods", check=False)
    assert 'cannot list resource "pods" in API group "" in the namespace "default"' in elsewhere.stderr
    cluster_wide = qa.kubectl.run("get", "namespaces", check=False)
    assert 'cannot list resource "namespaces" in API group "" at the cluster scope' in cluster_wide.stderr


def _can_i(kubectl: Kubectl, *args: str) -> tuple[str, int]:
    answer = kubectl.run("auth", "can-i", *args, check=False)
    return answer.stdout.strip(), answer.returncode


def test_auth_can_i_answers_for_the_caller_and_for_an_impersonated_account(kubectl: Kubectl, qa: Identity) -> None:
    ns = ("-n", qa.namespace)
    assert _can_i(qa.kubectl, "get", "pods", *ns) == ("no", 1)
    bind_view(kubectl, qa)
    assert _can_i(qa.kubectl, "get", "pods", *ns) == ("yes", 0)
    assert _can_i(qa.kubectl, "create", "pods", *ns) == ("no", 1)
    assert _can_i(qa.kubectl, "get", "pods", "-n", "default") == ("no", 1)
    assert _can_i(kubectl, "list", "pods", *ns, f"--as={qa.user}") == ("yes", 0)
    assert _can_i(kubectl, "delete", "pods", *ns, f"--as={qa.user}") == ("no", 1)
    assert _can_i(kubectl, "delete", "nodes") == ("yes", 0)
    listed = qa.kubectl.run("auth", "can-i", "--list", *ns).stdout
    assert any(line.split()[:1] == ["pods"] and "[get list watch]" in line for line in listed.splitlines()), listed


def test_the_python_client_gets_a_403_status_body(qa: Identity, qa_api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as denied:
        client.CoreV1Api(qa_api).read_namespaced_pod("web", qa.namespace)
    assert denied.value.status == 403
    body = json.loads(denied.value.body)
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'pods "web" is forbidden: User "{qa.user}" cannot get resource "pods" in API group "" '
        f'in the namespace "{qa.namespace}"',
        "reason": "Forbidden",
        "details": {"name": "web", "kind": "pods"},
        "code": 403,
    }


def test_the_suite_reports_the_denied_verb_and_resource(qa: Identity, tmp_path: Path) -> None:
    connection = kube_client.connect(kubeconfig=qa.kubeconfig, context=None, in_cluster=False, cache_dir=tmp_path)
    try:
        with pytest.raises(errors.ForbiddenError) as denied:
            connection.list("apps/v1", "Deployment", qa.namespace)
    finally:
        connection.close()
    assert denied.value.status == 403
    assert f'cannot list resource "deployments" in API group "apps" in the namespace "{qa.namespace}"' in str(
        denied.value
    )


def test_an_unknown_token_is_a_401(cluster: launch.ClusterInfo, tmp_path: Path) -> None:
    kubeconfig = kubeconfig_with_token(cluster, "not-a-token-this-cluster-issued", tmp_path / "unknown.kubeconfig")
    api = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(api).list_namespaced_pod("default")
    finally:
        api.close()
    assert refused.value.status == 401
    assert json.loads(refused.value.body)["reason"] == "Unauthorized"
    answer = Kubectl(kubeconfig, tmp_path / "cache").run("get", "pods", check=False)
    assert "error: You must be logged in to the server" in answer.stderr


def test_a_token_stops_working_when_its_service_account_is_deleted(kubectl: Kubectl, qa: Identity) -> None:
    bind_view(kubectl, qa)
    qa.kubectl.run("-n", qa.namespace, "get", "pods")
    kubectl.run("-n", qa.namespace, "delete", "serviceaccount", "qa")
    kubectl.run("-n", qa.namespace, "create", "serviceaccount", "qa")
    refused = qa.kubectl.run("-n", qa.namespace, "get", "pods", check=False)
    assert "error: You must be logged in to the server" in refused.stderr


def test_a_token_request_shorter_than_ten_minutes_is_invalid(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("-n", namespace, "create", "serviceaccount", "brief")
    refused = kubectl.run("-n", namespace, "create", "token", "brief", "--duration=1m", check=False)
    assert refused.stderr.strip() == (
        'error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: '
        "spec.expirationSeconds: Invalid value: 60: "
        "may not specify a duration less than 10 minutes"
    )
