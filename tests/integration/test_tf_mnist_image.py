"""The tf-mnist image on the embedded cluster: between-graph ps/worker training and the
ParameterServerStrategy variant, wired the way the training operator wires a TFJob.

Until the TFJob controller runs them, the replicas are plain Pods named as the operator names
them (`<job>-<type>-<i>`), each behind a headless Service of its own name, with the TF_CONFIG the
operator would set (hosts `<job>-<type>-<i>.<namespace>.svc:2222`, keys sorted, compact). One
replica names the Kubeflow example's image, so the alias table is on the path too. All through
the suite's own client; the logs are read by the suite's own parser.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kfval.kube import client
from kfval.metrics import tensorflow
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

TF_PORT = 2222
RUN_TIMEOUT_SECONDS = 300.0
EXAMPLE_IMAGE = "kubeflow/tf-dist-mnist-test:1.0"
PROJECT_IMAGE = "kfval/tf-mnist"


def tf_config(job: str, namespace: str, replicas: Mapping[str, int], *, task: str, index: int) -> str:
    """TF_CONFIG as the operator's genTFConfigJSONStr writes it."""
    cluster = {
        kind: [f"{job}-{kind}-{i}.{namespace}.svc:{TF_PORT}" for i in range(count)]
        for kind, count in sorted(replicas.items())
    }
    value = {"cluster": cluster, "task": {"type": task, "index": index}, "environment": "cloud"}
    return json.dumps(value, separators=(",", ":"))


def replica_labels(job: str, kind: str, index: int) -> dict[str, str]:
    return {
        "training.kubeflow.org/operator-name": "tfjob-controller",
        "training.kubeflow.org/job-name": job,
        "training.kubeflow.org/replica-type": kind,
        "training.kubeflow.org/replica-index": str(index),
    }


def replica_pod(name: str, *, labels: dict[str, str], image: str, config: str, command: list[str]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "tensorflow",
        "image": image,
        "env": [{"name": "TF_CONFIG", "value": config}],
        "ports": [{"name": "tfjob-port", "containerPort": TF_PORT}],
    }
    if command:
        container["command"] = command
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"restartPolicy": "Never", "containers": [container]},
    }


def headless_service(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {"clusterIP": "None", "selector": labels, "ports": [{"name": "tfjob-port", "port": TF_PORT}]},
    }


def start_replicas(
    conn: client.Connection,
    namespace: str,
    *,
    job: str,
    replicas: Mapping[str, int],
    images: Mapping[str, str],
    command: list[str],
    args: list[str],
) -> list[str]:
    """Services and pods for every replica, as the operator creates them; the pod names."""
    names = []
    for kind, count in replicas.items():
        for index in range(count):
            name = f"{job}-{kind}-{index}"
            labels = replica_labels(job, kind, index)
            config = tf_config(job, namespace, replicas, task=kind, index=index)
            conn.create(headless_service(name, labels), namespace)
            image = images.get(name, PROJECT_IMAGE)
            pod = replica_pod(name, labels=labels, image=image, config=config, command=command)
            pod["spec"]["containers"][0]["args"] = args
            conn.create(pod, namespace)
            names.append(name)
    return names


def wait_finished(conn: client.Connection, name: str, namespace: str, *, timeout: float) -> dict[str, Any]:
    """The pod once it has Succeeded or Failed."""

    def finished() -> dict[str, Any] | None:
        pod = conn.get("v1", "Pod", name, namespace)
        return pod if pod.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

    return eventually_blocking(finished, f"pod {name} to finish", timeout=timeout, interval=1.0)


@pytest.mark.slow
def test_one_ps_and_two_workers_train_between_graph(conn: client.Connection, namespace: str, mnist_cache: Path) -> None:
    job, steps = "dist-mnist", 1000
    replicas = {"ps": 1, "worker": 2}
    images = {f"{job}-worker-0": EXAMPLE_IMAGE, f"{job}-ps-0": EXAMPLE_IMAGE}
    started = time.monotonic()
    # The example's image takes its flags as args; the project image's ENTRYPOINT is the same program.
    args = ["--train_steps", str(steps)]
    start_replicas(conn, namespace, job=job, replicas=replicas, images=images, command=[], args=args)
    workers = [f"{job}-worker-{index}" for index in range(2)]
    pods = {name: wait_finished(conn, name, namespace, timeout=RUN_TIMEOUT_SECONDS) for name in workers}
    wall = time.monotonic() - started
    logs = {name: conn.pod_log(name, namespace) for name in [*workers, f"{job}-ps-0"]}
    for name, pod in pods.items():
        assert pod["status"]["phase"] == "Succeeded", f"{name}: {pod['status']}\n{logs[name][-3000:]}"
    ps = conn.get("v1", "Pod", f"{job}-ps-0", namespace)
    assert ps["status"]["phase"] == "Running", "a parameter server serves until the job ends"
    chief, other = (tensorflow.parse_training_log(logs[name]) for name in workers)
    server = tensorflow.parse_training_log(logs[f"{job}-ps-0"])
    assert (server.job_name, server.task_index, server.steps) == ("ps", 0, ())
    assert chief.generation is tensorflow.LogGeneration.CLASSIC
    assert (chief.job_name, chief.task_index, other.task_index) == ("worker", 0, 1)
    assert chief.train_steps == steps and chief.cross_entropy is not None
    # Summed over the 5 000 validation images: untrained it is about 11 500 (ln 10 x 5 000).
    assert 0 < chief.cross_entropy < 1500, logs[workers[0]][-800:]
    assert chief.accuracy is not None and chief.accuracy > 0.9
    # Asynchronous replicas: both step, and together they reach the configured global step.
    assert chief.steps and other.steps
    assert max(chief.global_step or 0, other.global_step or 0) >= steps
    print(f"\n1 ps + 2 workers, {steps} steps: {wall:.1f} s wall, chief {chief.elapsed_seconds} s training")


def test_without_tf_config_the_program_trains_alone(conn: client.Connection, namespace: str) -> None:
    """A single-replica TFJob gets no TF_CONFIG (kubeflow-semantics §1.4.5): one worker, own server."""
    pod = replica_pod("alone", labels={}, image=PROJECT_IMAGE, config="", command=[])
    pod["spec"]["containers"][0]["env"] = []
    pod["spec"]["containers"][0]["args"] = ["--train_steps", "50"]
    conn.create(pod, namespace)
    finished = wait_finished(conn, "alone", namespace, timeout=RUN_TIMEOUT_SECONDS)
    log = conn.pod_log("alone", namespace)
    assert finished["status"]["phase"] == "Succeeded", log[-3000:]
    parsed = tensorflow.parse_training_log(log)
    assert (parsed.job_name, parsed.task_index, parsed.train_steps) == ("worker", 0, 50)
    assert len(parsed.steps) >= 50 and parsed.cross_entropy is not None


@pytest.mark.slow
def test_the_chief_trains_with_parameter_server_strategy(
    conn: client.Connection, namespace: str, mnist_cache: Path
) -> None:
    job = "pss-mnist"
    replicas = {"chief": 1, "ps": 1, "worker": 1}
    command = ["python", "/opt/tf-mnist/pss_mnist.py"]
    started = time.monotonic()
    start_replicas(conn, namespace, job=job, replicas=replicas, images={}, command=command, args=["--epochs", "2"])
    chief_name = f"{job}-chief-0"
    pod = wait_finished(conn, chief_name, namespace, timeout=RUN_TIMEOUT_SECONDS)
    wall = time.monotonic() - started
    log = conn.pod_log(chief_name, namespace)
    assert pod["status"]["phase"] == "Succeeded", f"{pod['status']}\n{log[-3000:]}"
    for name in (f"{job}-ps-0", f"{job}-worker-0"):
        assert conn.get("v1", "Pod", name, namespace)["status"]["phase"] == "Running", name
    chief = tensorflow.parse_training_log(log)
    assert chief.generation is tensorflow.LogGeneration.CHIEF
    assert chief.ps_replicas == 1
    assert [epoch.epoch for epoch in chief.epochs] == [1, 2]
    assert chief.accuracy is not None and chief.accuracy > 0.85, log[-800:]
    assert chief.cross_entropy is not None and 0 < chief.cross_entropy < 0.5
    assert chief.elapsed_seconds is not None and chief.steps_per_second is not None
    print(f"\nchief + ps + worker, 2 epochs: {wall:.1f} s wall, {chief.elapsed_seconds:.1f} s training")


@pytest.mark.slow
def test_the_kubeflow_example_tfjob_runs_with_the_examples_image(
    conn: client.Connection, namespace: str, mnist_cache: Path
) -> None:
    """training-operator examples/tensorflow/dist-mnist/tf_job_mnist.yaml, fewer replicas and steps."""
    steps = 500

    def replica_spec(replicas: int, args: list[str]) -> dict[str, Any]:
        container = {"name": "tensorflow", "image": EXAMPLE_IMAGE, "args": args}
        return {"replicas": replicas, "restartPolicy": "Never", "template": {"spec": {"containers": [container]}}}

    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"name": "dist-mnist-for-e2e-test"},
        "spec": {
            "tfReplicaSpecs": {"PS": replica_spec(1, []), "Worker": replica_spec(2, ["--train_steps", str(steps)])}
        },
    }
    conn.create(job, namespace)
    chief = "dist-mnist-for-e2e-test-worker-0"
    eventually_blocking(
        lambda: chief in {pod["metadata"]["name"] for pod in conn.list("v1", "Pod", namespace)["items"]},
        f"the operator to create {chief}",
        timeout=RUN_TIMEOUT_SECONDS,
        interval=1.0,
    )
    pod = wait_finished(conn, chief, namespace, timeout=RUN_TIMEOUT_SECONDS)
    log = conn.pod_log(chief, namespace)
    assert pod["status"]["phase"] == "Succeeded", f"{pod['status']}\n{log[-3000:]}"
    parsed = tensorflow.parse_training_log(log)
    assert (parsed.job_name, parsed.task_index, parsed.train_steps) == ("worker", 0, steps)
    assert parsed.cross_entropy is not None and parsed.accuracy is not None and parsed.accuracy > 0.85
