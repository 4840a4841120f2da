"""A real embedded cluster per test session, and real clients pointed at it.

Tests talk to the cluster the way users do: kubectl (its own cache dir per test, so discovery
caches cannot leak between runs), the official Python client, and Helm in a subprocess. What test
modules import (Kubectl, suite runs, the poll helper) lives in tests/support, never here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import config
from kubernetes.client import ApiClient, CoreV1Api

from kfval.embedded import datasets, launch
from kfval.kube import client
from tests.support.kubectl import Kubectl

DATASETS_DIR = Path.cwd() / ".cache" / "datasets"
"""The runner's default `--datasets-dir` for a cluster started from this directory."""


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launch.ClusterInfo]:
    state_dir = tmp_path_factory.mktemp("cluster")
    info = launch.start(state_dir, die_with_parent=True)
    yield info
    launch.stop(state_dir)


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


@pytest.fixture
def conn(cluster: launch.ClusterInfo, tmp_path: Path) -> Iterator[client.Connection]:
    """The suite's own client (kfval.kube), connected as `kfval run` connects to a kubeconfig target."""
    connection = client.connect(
        kubeconfig=cluster.kubeconfig, context=None, in_cluster=False, cache_dir=tmp_path / "cache"
    )
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def mnist_cache() -> Path:
    """The offline MNIST files the cluster binds into training images, converted once per checkout."""
    return datasets.prepare(DATASETS_DIR)
