"""The pytorch-mnist image on the embedded cluster: the offline MNIST mount, and a real 2-rank
gloo DDP run wired the way the training operator wires a PyTorchJob.

Until the PyTorchJob controller runs them, the master and the worker are plain Pods with the env
the operator injects; MASTER_ADDR names a headless Service that selects the master pod, as the
operator's `<job>-master-0` Service does. The master's image is the Kubeflow example's name, so
the alias table is on the path too. All through the suite's own client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kfval.embedded import datasets
from kfval.kube import client
from kfval.metrics import pytorch
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

MASTER_PORT = "23456"
RUN_TIMEOUT_SECONDS = 240.0
ACCURACY_THRESHOLD = 0.9662


def trainer_pod(name: str, *, image: str, rank: int, args: list[str], master: str) -> dict[str, Any]:
    env = {
        "PYTHONUNBUFFERED": "1",
        "MASTER_PORT": MASTER_PORT,
        "MASTER_ADDR": master,
        "WORLD_SIZE": "2",
        "RANK": str(rank),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"training.kubeflow.org/replica-index": str(rank), "job": "mnist"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "pytorch",
                    "image": image,
                    "args": args,
                    "env": [{"name": key, "value": value} for key, value in env.items()],
                    "ports": [{"name": "pytorchjob-port", "containerPort": int(MASTER_PORT)}],
                }
            ],
        },
    }


def wait_finished(conn: client.Connection, name: str, namespace: str, *, timeout: float) -> dict[str, Any]:
    """The pod once it has Succeeded or Failed."""

    def finished() -> dict[str, Any] | None:
        pod = conn.get("v1", "Pod", name, namespace)
        return pod if pod.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

    return eventually_blocking(finished, f"pod {name} to finish", timeout=timeout, interval=1.0)


def test_the_offline_mnist_cache_is_mounted_read_only(
    conn: client.Connection, namespace: str, mnist_cache: Path
) -> None:
    script = "ls /data/mnist; touch /data/mnist/written 2>/dev/null && echo writable || echo read-only"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "look"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "kfval/pytorch-mnist", "command": ["sh", "-c", script]}],
        },
    }
    conn.create(pod, namespace)
    finished = wait_finished(conn, "look", namespace, timeout=60)
    log = conn.pod_log("look", namespace)
    assert finished["status"]["phase"] == "Succeeded", log
    assert log.split() == [*sorted(item.name for item in datasets.IDX_FILES), "read-only"]
    assert not (mnist_cache / "written").exists()


@pytest.mark.slow
def test_two_ranks_train_mnist_with_gloo_ddp_past_the_threshold(
    conn: client.Connection, namespace: str, mnist_cache: Path
) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "mnist-master-0"},
        "spec": {
            "clusterIP": "None",
            "selector": {"job": "mnist", "training.kubeflow.org/replica-index": "0"},
            "ports": [{"name": "pytorchjob-port", "port": int(MASTER_PORT)}],
        },
    }
    conn.create(service, namespace)
    args = ["--backend", "gloo", "--lr", "0.05", "--momentum", "0.9"]
    images = {"mnist-master-0": "docker.io/kubeflow/pytorch-dist-mnist:latest", "mnist-worker-0": "kfval/pytorch-mnist"}
    for rank, (name, image) in enumerate(images.items()):
        conn.create(trainer_pod(name, image=image, rank=rank, args=args, master="mnist-master-0"), namespace)
    pods = {name: wait_finished(conn, name, namespace, timeout=RUN_TIMEOUT_SECONDS) for name in images}
    logs = {name: conn.pod_log(name, namespace) for name in images}
    for name, pod in pods.items():
        assert pod["status"]["phase"] == "Succeeded", f"{name}: {pod['status']}\n{logs[name][-3000:]}"
    master = pytorch.parse_training_log(logs["mnist-master-0"])
    worker = pytorch.parse_training_log(logs["mnist-worker-0"])
    assert master.generation is pytorch.LogGeneration.CURRENT
    assert (master.backend, master.world_size, master.rank, worker.rank) == ("gloo", 2, 0, 1)
    assert master.accuracy is not None and master.accuracy >= ACCURACY_THRESHOLD, logs["mnist-master-0"][-500:]
    assert worker.accuracy == master.accuracy
    # Each rank trains on its half of the 60 000 images: the progress counter stops near 30 000.
    assert 29000 < master.losses[-1].seen < 30000 and master.losses[-1].total == 60000
    assert master.losses[0].loss > 2.0
    assert master.final_loss is not None and master.final_loss < 0.5
