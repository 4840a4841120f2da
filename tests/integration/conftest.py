"""A real embedded cluster per test session, and real clients pointed at it.

Tests talk to the cluster the way users do: kubectl (its own cache dir per test, so discovery
caches cannot leak between runs), the official Python client, and Helm in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import config
from kubernetes.client import ApiClient, CoreV1Api

from kfval.embedded import launch

KUBECTL = "/usr/bin/kubectl"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launch.ClusterInfo]:
    state_dir = tmp_path_factory.mktemp("cluster")
    info = launch.start(state_dir, die_with_parent=True)
    yield info
    launch.stop(state_dir)


@dataclass
class Kubectl:
    kubeconfig: Path
    cache_dir: Path

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 60,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "KUBECACHEDIR": str(self.cache_dir)}
        result = subprocess.run(
            [KUBECTL, "--cache-dir", str(self.cache_dir), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            input=stdin,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        return subprocess.Popen(
            [KUBECTL, "--cache-dir", str(self.cache_dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )


@pytest.fixture
def kubectl(cluster: launch.ClusterInfo, tmp_path: Path) -> Kubectl:
    return Kubectl(cluster.kubeconfig, tmp_path / "kube-cache")


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl.run("create", "namespace", name)
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def api(cluster: launch.ClusterInfo) -> Iterator[ApiClient]:
    """The official Python client, configured from the cluster's kubeconfig as a user would."""
    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield api_client
    api_client.close()


@pytest.fixture
def ns(api: ApiClient) -> Iterator[str]:
    """A namespace made and removed through the Python client."""
    name = f"py-{uuid.uuid4().hex[:8]}"
    CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    yield name
    CoreV1Api(api).delete_namespace(name)
