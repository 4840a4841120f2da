"""The cluster's own registry: real htpasswd auth, only on the pods' gateway, seeded non-root bases,
named in pods' hosts, and images pulled with the pod's pull secrets (or refused in the registry's words)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kfval.embedded import launch
from tests.support import registry as reg
from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(cluster: launch.ClusterInfo) -> launch.RegistryInfo:
    assert cluster.registry is not None, "the cluster started without its registry (see cluster.log)"
    return cluster.registry


def test_registry_demands_credentials_and_accepts_the_clusters(registry: launch.RegistryInfo) -> None:
    status, headers, body = reg.get(registry, "/v2/", auth=None)
    assert status == 401
    assert headers["Www-Authenticate"].startswith('Basic realm="')
    assert json.loads(body)["errors"][0]["code"] == "UNAUTHORIZED"
    assert reg.get(registry, "/v2/", auth=(registry.username, "wrong"))[0] == 401
    status, _headers, body = reg.get(registry, "/v2/_catalog", auth=(registry.username, registry.password))
    assert status == 200
    assert {"base/python", "base/tensorflow"} <= set(json.loads(body)["repositories"])


def test_registry_listens_only_on_the_pod_gateway(cluster: launch.ClusterInfo, registry: launch.RegistryInfo) -> None:
    host, port = registry.address.rsplit(":", 1)
    assert registry.name == f"registry.kube-system.svc.cluster.local:{port}"
    if host == "127.0.0.1":
        pytest.skip("pods share the host's loopback here (not root): the registry listens there")
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(port)), timeout=2):
        pass
    htpasswd = (cluster.state_dir / "registry" / "htpasswd").read_text()
    assert htpasswd.startswith(f"{registry.username}:$2"), "distribution accepts bcrypt entries only"


def test_cluster_status_names_the_registry(cluster: launch.ClusterInfo, registry: launch.RegistryInfo) -> None:
    status = subprocess.run(
        [sys.executable, "-m", "kfval.cli", "cluster", "status", "--state-dir", str(cluster.state_dir)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ},
    )
    assert status.returncode == 0, status.stderr
    assert f"image registry: {registry.name} in pods, {registry.address} from this host" in status.stdout
    assert f"registry credentials: {registry.username} / {registry.password}" in status.stdout


def test_seeded_bases_are_non_root_and_stand_on_the_host_runtime(registry: launch.RegistryInfo) -> None:
    for repository in ("base/python:3.11", "base/tensorflow:2.21.0"):
        config = reg.inspect(registry, repository, config=True)["config"]
        assert config["User"] == "1000"
        assert config["WorkingDir"] == "/home/jovyan"
        assert "dev.kfval.host-runtime" in config["Labels"]
        manifest = reg.inspect(registry, repository, raw=True)
        assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
        assert sum(layer["size"] for layer in manifest["layers"]) < 4_000_000


def _pod(name: str, image: str, pull_secret: str | None, command: list[str]) -> str:
    """A pod that pulls `image` each time (a node that has it would otherwise use it without credentials)."""
    secrets = [{"name": pull_secret}] if pull_secret else []
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "imagePullSecrets": secrets,
                "containers": [{"name": "main", "image": image, "command": command, "imagePullPolicy": "Always"}],
            },
        }
    )


def _pull_secret(kubectl: Kubectl, namespace: str, name: str, registry: launch.RegistryInfo, password: str) -> None:
    kubectl.run(
        "-n", namespace, "create", "secret", "docker-registry", name, f"--docker-server={registry.name}",
        f"--docker-username={registry.username}", f"--docker-password={password}",
    )  # fmt: skip


def test_a_seeded_base_runs_as_jovyan_with_the_right_pull_secret(
    kubectl: Kubectl, namespace: str, registry: launch.RegistryInfo
) -> None:
    _pull_secret(kubectl, namespace, "pull", registry, registry.password)
    image = f"{registry.name}/base/python:3.11"
    script = "import os, pwd; print(os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name, os.getcwd())"
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=_pod("base", image, "pull", ["python3", "-c", script]))
    eventually_blocking(
        lambda: (
            kubectl.run("-n", namespace, "get", "pod", "base", "-o", "jsonpath={.status.phase}").stdout == "Succeeded"
        ),
        "the pod from the seeded base to succeed",
        timeout=60,
    )
    assert kubectl.run("-n", namespace, "logs", "base").stdout.split() == ["1000", "100", "jovyan", "/home/jovyan"]
    hosts_line = f"{registry.address.rsplit(':', 1)[0]}\t{registry.name.rsplit(':', 1)[0]}"
    kubectl.run("-n", namespace, "run", "hosts", "--image=busybox", "--restart=Never", "--", "cat", "/etc/hosts")
    eventually_blocking(
        lambda: hosts_line in kubectl.run("-n", namespace, "logs", "hosts", check=False).stdout,
        "the registry's name in the pod's hosts",
        timeout=30,
    )
    status = json.loads(kubectl.run("-n", namespace, "get", "pod", "base", "-o", "json").stdout)["status"]
    digest = reg.inspect(registry, "base/python:3.11")["Digest"]
    assert status["containerStatuses"][0]["imageID"].endswith(f"/base/python@{digest}")


def test_the_default_service_accounts_pull_secret_reaches_new_pods(
    kubectl: Kubectl, namespace: str, registry: launch.RegistryInfo
) -> None:
    _pull_secret(kubectl, namespace, "pull", registry, registry.password)
    eventually_blocking(
        lambda: kubectl.run("-n", namespace, "get", "serviceaccount", "default", check=False).returncode == 0,
        "the default service account",
        timeout=30,
    )
    kubectl.run("-n", namespace, "patch", "serviceaccount", "default", "-p", '{"imagePullSecrets": [{"name": "pull"}]}')
    image = f"{registry.name}/base/tensorflow:2.21.0"
    kubectl.run(
        "-n",
        namespace,
        "run",
        "tf",
        f"--image={image}",
        "--restart=Never",
        "--",
        "sh",
        "-c",
        "echo $TF_USE_LEGACY_KERAS",
    )
    assert (
        kubectl.run("-n", namespace, "get", "pod", "tf", "-o", "jsonpath={.spec.imagePullSecrets}").stdout
        == '[{"name":"pull"}]'
    )
    eventually_blocking(
        lambda: kubectl.run("-n", namespace, "logs", "tf", check=False).stdout == "1\n",
        "the TensorFlow base to run with the service account's pull secret",
        timeout=60,
    )


@pytest.mark.parametrize("secret", ["wrong", None])
def test_a_wrong_or_missing_pull_secret_is_err_image_pull_in_the_registrys_words(
    kubectl: Kubectl, namespace: str, registry: launch.RegistryInfo, secret: str | None
) -> None:
    if secret is not None:
        _pull_secret(kubectl, namespace, secret, registry, "not-the-password")
    image = f"{registry.name}/base/python:3.11"
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=_pod("denied", image, secret, ["true"]))

    def failed() -> list[str]:
        listing = kubectl.run(
            "-n", namespace, "get", "events", "--field-selector=involvedObject.name=denied", "-o", "json"
        )
        messages = [event["message"] for event in json.loads(listing.stdout)["items"] if event["reason"] == "Failed"]
        return messages if "Error: ErrImagePull" in messages else []

    messages = eventually_blocking(failed, "a Failed event with ErrImagePull", timeout=60)
    assert messages[0] == (
        f'Failed to pull image "{image}": rpc error: code = Unknown desc = failed to pull and unpack image '
        f'"{image}": failed to resolve reference "{image}": pull access denied, repository does not exist or '
        "may require authorization: server message: unauthorized: authentication required"
    )
    pod = json.loads(kubectl.run("-n", namespace, "get", "pod", "denied", "-o", "json").stdout)
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] in ("ErrImagePull", "ImagePullBackOff")


@pytest.mark.parametrize("keep", [False, True])
def test_the_registry_keeps_nothing_after_the_cluster_stops_unless_asked(tmp_path: Path, keep: bool) -> None:
    state_dir = tmp_path / "cluster"
    info = launch.start(state_dir, die_with_parent=True, keep_registry=keep)
    try:
        assert info.registry is not None
        assert reg.inspect(info.registry, "base/python:3.11")["Digest"].startswith("sha256:")
    finally:
        launch.stop(state_dir)
    stored = state_dir / "registry" / "data" / "docker" / "registry" / "v2" / "repositories" / "base" / "python"
    assert stored.is_dir() is keep
    assert (state_dir / "registry").exists() is keep
