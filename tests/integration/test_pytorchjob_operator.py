"""The emulated training operator seen from kubectl: PyTorchJobs applied, run, judged and cleaned up.

Each test applies a PyTorchJob the way a user would and reads back what the Kubeflow training
operator v1.9 produces: pods and headless Services named and labelled by replica, the
distributed env, worker init containers that wait for the master's name, conditions with the
operator's reasons, the webhook's refusals and warnings and the CRD's queue rule as kubectl prints
them, suspend and resume through `kubectl patch`, jobs left to MultiKueue, and cleanPodPolicy after
success.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

LABEL = "training.kubeflow.org"
PRINT_ENV = (
    "import os; names = ('PYTHONUNBUFFERED', 'MASTER_ADDR', 'MASTER_PORT', 'WORLD_SIZE', 'RANK'); "
    "[print(f'{k}={v}') for k, v in sorted(os.environ.items()) if k in names or k.startswith('PET_')]"
)
RESOLVE_MASTER = "import os, socket; print('master-ip=' + socket.gethostbyname(os.environ['MASTER_ADDR']))"
# A rendezvous, as torch.distributed's: the master waits for its worker, so it cannot finish (and end the
# job) before the worker has even started.
AWAIT_WORKER = (
    "import os, socket; server = socket.create_server(('', int(os.environ['MASTER_PORT']))); "
    "server.settimeout(120); server.accept()[0].close()"
)
CHECK_IN = (
    "import os, socket, time; address = (os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT'])); "
    "next(i for i in range(120) if socket.socket().connect_ex(address) == 0 or time.sleep(1))"
)
WAIT_SECONDS = 90
TRAINING_WAIT_SECONDS = 240
"""One epoch of the gloo example on two CPU ranks, with room for a loaded machine (as the image tests allow)."""


def pytorchjob(name: str, *, master: str, worker: str, image: str = "python:3.11", extra: str = "") -> str:
    """A Master 1 + Worker 1 PyTorchJob whose `pytorch` containers run the given shell lines."""
    replica = """
    {kind}:
      replicas: 1
      restartPolicy: {policy}
      template:
        spec:
          containers:
          - name: pytorch
            image: {image}
            command: ["sh", "-c", {script}]"""
    return f"""
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: {name}
spec:
  {extra}
  pytorchReplicaSpecs:""" + "".join(
        replica.format(kind=kind, policy=policy, image=image, script=json.dumps(script))
        for kind, policy, script in (("Master", "OnFailure", master), ("Worker", "Never", worker))
    )


def get(kubectl: Kubectl, namespace: str, *what: str) -> Any:
    return json.loads(kubectl.run("-n", namespace, "get", *what, "-o", "json").stdout)


def wait_for(kubectl: Kubectl, namespace: str, job: str, condition: str) -> None:
    kubectl.run(
        "-n", namespace, "wait", f"--for=condition={condition}", f"pytorchjob/{job}",
        f"--timeout={WAIT_SECONDS}s", timeout=WAIT_SECONDS + 10,
    )  # fmt: skip


def last_condition(kubectl: Kubectl, namespace: str, job: str) -> dict[str, str]:
    return dict(get(kubectl, namespace, "pytorchjob", job)["status"]["conditions"][-1])


def test_master_and_worker_run_with_the_operator_env_and_succeed(kubectl: Kubectl, namespace: str) -> None:
    master = f'python -c "{PRINT_ENV}" && python -c "{AWAIT_WORKER}"'
    worker = f'python -c "{RESOLVE_MASTER}" && python -c "{PRINT_ENV}" && python -c "{CHECK_IN}"'
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=pytorchjob("hello", master=master, worker=worker))
    wait_for(kubectl, namespace, "hello", "Succeeded")
    condition = last_condition(kubectl, namespace, "hello")
    assert (condition["type"], condition["reason"]) == ("Succeeded", "PyTorchJobSucceeded")
    assert condition["message"] == "PyTorchJob hello is successfully completed."
    pods = {p["metadata"]["name"]: p for p in get(kubectl, namespace, "pods")["items"]}
    assert set(pods) == {"hello-master-0", "hello-worker-0"}
    assert pods["hello-worker-0"]["metadata"]["labels"] == {
        f"{LABEL}/operator-name": "pytorchjob-controller",
        f"{LABEL}/job-name": "hello",
        f"{LABEL}/replica-type": "worker",
        f"{LABEL}/replica-index": "0",
    }
    assert pods["hello-master-0"]["metadata"]["labels"][f"{LABEL}/job-role"] == "master"
    services = {s["metadata"]["name"]: s for s in get(kubectl, namespace, "services")["items"]}
    assert set(services) == set(pods)
    assert services["hello-master-0"]["spec"]["clusterIP"] == "None"
    assert services["hello-master-0"]["spec"]["ports"][0]["port"] == 23456
    common = ["MASTER_ADDR=hello-master-0", "MASTER_PORT=23456", "PET_MASTER_ADDR=hello-master-0"]
    common += ["PET_MASTER_PORT=23456", "PET_NNODES=2"]
    expected = {
        "hello-master-0": [*common, "PET_NODE_RANK=0", "PET_NPROC_PER_NODE=auto", "PYTHONUNBUFFERED=1", "RANK=0"],
        "hello-worker-0": [*common, "PET_NODE_RANK=1", "PET_NPROC_PER_NODE=auto", "PYTHONUNBUFFERED=1", "RANK=1"],
    }
    for pod, lines in expected.items():
        log = kubectl.run("-n", namespace, "logs", pod, "-c", "pytorch").stdout.splitlines()
        assert [line for line in log if "=" in line and not line.startswith("master-ip")] == [*lines, "WORLD_SIZE=2"]
    worker_log = kubectl.run("-n", namespace, "logs", "hello-worker-0", "-c", "pytorch").stdout
    assert f"master-ip={pods['hello-master-0']['status']['podIP']}" in worker_log.splitlines()
    init_log = kubectl.run("-n", namespace, "logs", "hello-worker-0", "-c", "init-pytorch").stdout
    assert f"Address: {pods['hello-master-0']['status']['podIP']}" in init_log


def test_a_worker_that_exits_1_under_never_fails_the_job(kubectl: Kubectl, namespace: str) -> None:
    job = pytorchjob("broken", master="sleep 30", worker="echo giving up; exit 1", image="busybox")
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=job)
    wait_for(kubectl, namespace, "broken", "Failed")
    condition = last_condition(kubectl, namespace, "broken")
    assert (condition["type"], condition["reason"]) == ("Failed", "PyTorchJobFailed")
    assert condition["message"] == "PyTorchJob broken is failed because 1 Worker replica(s) failed."
    table = kubectl.run("-n", namespace, "get", "pytorchjob", "broken").stdout
    assert "Failed" in table.splitlines()[1]


def test_a_job_without_a_pytorch_container_is_refused(kubectl: Kubectl, namespace: str) -> None:
    job = pytorchjob("nameless", master="true", worker="true", image="busybox").replace("name: pytorch", "name: main")
    result = kubectl.run("-n", namespace, "apply", "-f", "-", stdin=job, check=False)
    assert result.returncode != 0
    assert result.stderr.startswith(
        'Error from server (Forbidden): error when creating "STDIN": admission webhook '
        '"validator.pytorchjob.training-operator.kubeflow.org" denied the request: ['
    )
    for replica_type in ("Master", "Worker"):  # both replicas lack it; the webhook's map order is not fixed
        assert (
            f"spec.pytorchReplicaSpecs[{replica_type}].template.spec.containers: Required value: "
            "must have at least one container with name pytorch"
        ) in result.stderr
    assert kubectl.run("-n", namespace, "get", "pytorchjobs", "-o", "name").stdout.strip() == ""


def test_clean_pod_policy_all_removes_pods_and_services_after_success(kubectl: Kubectl, namespace: str) -> None:
    job = pytorchjob(
        "tidy", master="echo done", worker="echo done", image="busybox", extra="runPolicy: {cleanPodPolicy: All}"
    )
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=job)
    wait_for(kubectl, namespace, "tidy", "Succeeded")
    for kind in ("pods", "services"):
        kubectl.run("-n", namespace, "wait", "--for=delete", kind, "-l", f"{LABEL}/job-name=tidy", "--timeout=30s")
        assert get(kubectl, namespace, kind)["items"] == []
    assert last_condition(kubectl, namespace, "tidy")["type"] == "Succeeded"


SIMPLE_EXAMPLE = """
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: pytorch-simple
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      restartPolicy: OnFailure
      template:
        spec:
          containers:
          - name: pytorch
            image: kubeflow/pytorch-dist-mnist:latest
            args: ["--backend", "gloo"]
    Worker:
      replicas: 1
      restartPolicy: OnFailure
      template:
        spec:
          containers:
          - name: pytorch
            image: kubeflow/pytorch-dist-mnist:latest
            args: ["--backend", "gloo"]
"""


@pytest.fixture
def simple_example(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    """The Kubeflow gloo example, applied; its pods as the operator created them."""
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=SIMPLE_EXAMPLE)
    kubectl.run("-n", namespace, "wait", "--for=create", "pod/pytorch-simple-worker-0", "--timeout=30s")
    return {p["metadata"]["name"]: p for p in get(kubectl, namespace, "pods")["items"]}


def test_the_kubeflow_gloo_example_is_accepted_and_its_pods_are_named_by_replica(
    simple_example: dict[str, Any],
) -> None:
    assert set(simple_example) == {"pytorch-simple-master-0", "pytorch-simple-worker-0"}
    worker = simple_example["pytorch-simple-worker-0"]
    assert [c["name"] for c in worker["spec"]["initContainers"]] == ["init-pytorch"]
    assert worker["spec"]["containers"][0]["args"] == ["--backend", "gloo"]
    env = {e["name"]: e["value"] for e in worker["spec"]["containers"][0]["env"]}
    assert (env["MASTER_ADDR"], env["RANK"], env["WORLD_SIZE"]) == ("pytorch-simple-master-0", "1", "2")


@pytest.mark.slow
@pytest.mark.timeout(TRAINING_WAIT_SECONDS + 60)
def test_the_kubeflow_gloo_example_trains_to_success(
    mnist_cache: Path, simple_example: dict[str, Any], kubectl: Kubectl, namespace: str
) -> None:
    kubectl.run(
        "-n", namespace, "wait", "--for=condition=Succeeded", "pytorchjob/pytorch-simple",
        f"--timeout={TRAINING_WAIT_SECONDS}s", timeout=TRAINING_WAIT_SECONDS + 10,
    )  # fmt: skip
    assert last_condition(kubectl, namespace, "pytorch-simple")["reason"] == "PyTorchJobSucceeded"


SLEEPER = pytorchjob("sleeper", master="sleep 600", worker="sleep 600", image="busybox")
"""A job whose replicas run until they are stopped: what suspending acts on."""
NPROC_WARNING = "Warning: spec.elasticPolicy.nProcPerNode is deprecated, use spec.nprocPerNode instead"


def utc_now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(kubectl: Kubectl, namespace: str, job: str) -> list[tuple[str, str, str, str]]:
    found = get(kubectl, namespace, "pytorchjob", job).get("status", {}).get("conditions", [])
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in found]


def test_kubectl_get_pytorchjobs_shows_the_state_and_age_columns(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=pytorchjob("paused", master="true", worker="true",
        image="busybox", extra="runPolicy: {suspend: true}"))  # fmt: skip
    kubectl.run("-n", namespace, "wait", "--for=condition=Suspended", "pytorchjob/paused", "--timeout=30s")
    header, row = kubectl.run("-n", namespace, "get", "pytorchjobs").stdout.splitlines()
    assert header.split() == ["NAME", "STATE", "AGE"]
    assert row.split()[:2] == ["paused", "Suspended"]
    wide_header = kubectl.run("-n", namespace, "get", "pytorchjobs", "-o", "wide").stdout.splitlines()[0]
    assert wide_header.split() == ["NAME", "STATE", "AGE"]


def test_an_unknown_manager_is_refused_with_the_webhooks_words(kubectl: Kubectl, namespace: str) -> None:
    job = pytorchjob("other", master="true", worker="true", extra="runPolicy: {managedBy: example.com/other}")
    result = kubectl.run("-n", namespace, "create", "-f", "-", stdin=job, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        'Error from server (Forbidden): error when creating "STDIN": admission webhook '
        '"validator.pytorchjob.training-operator.kubeflow.org" denied the request: spec.runPolicy.managedBy: '
        'Unsupported value: "example.com/other": supported values: "kubeflow.org/training-operator", '
        '"kueue.x-k8s.io/multikueue"\n'
    )


def test_the_deprecated_nproc_per_node_is_warned_about_and_admitted(kubectl: Kubectl, namespace: str) -> None:
    extra = "elasticPolicy: {nProcPerNode: 1, rdzvBackend: c10d}\n  runPolicy: {suspend: true}"
    job = pytorchjob("elastic", master="true", worker="true", image="busybox", extra=extra)
    result = kubectl.run("-n", namespace, "create", "-f", "-", stdin=job)
    assert result.stdout == "pytorchjob.kubeflow.org/elastic created\n"
    assert result.stderr.splitlines() == [NPROC_WARNING]
    both = job.replace("name: elastic", "name: both").replace("spec:\n", 'spec:\n  nprocPerNode: "1"\n', 1)
    refused = kubectl.run("-n", namespace, "create", "-f", "-", stdin=both, check=False)
    assert refused.stderr.splitlines() == [
        NPROC_WARNING,
        'Error from server (Forbidden): error when creating "STDIN": admission webhook '
        '"validator.pytorchjob.training-operator.kubeflow.org" denied the request: '
        "spec.elasticPolicy.nProcPerNode: Forbidden: must not be used with spec.nprocPerNode",
    ]


def test_kubectl_patch_suspends_the_job_and_resumes_it(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=SLEEPER)
    kubectl.run("-n", namespace, "wait", "--for=jsonpath={.status.replicaStatuses.Master.active}=1",
        "pytorchjob/sleeper", f"--timeout={WAIT_SECONDS}s", timeout=WAIT_SECONDS + 10)  # fmt: skip
    started = get(kubectl, namespace, "pytorchjob", "sleeper")["status"]["startTime"]
    kubectl.run("-n", namespace, "patch", "pytorchjob", "sleeper", "--type=merge",
        "-p", '{"spec":{"runPolicy":{"suspend":true}}}')  # fmt: skip
    wait_for(kubectl, namespace, "sleeper", "Suspended")
    for kind in ("pods", "services"):
        kubectl.run("-n", namespace, "wait", "--for=delete", kind, "-l", f"{LABEL}/job-name=sleeper", "--timeout=60s")
    assert conditions(kubectl, namespace, "sleeper") == [
        ("Created", "True", "PyTorchJobCreated", "PyTorchJob sleeper is created."),
        ("Running", "False", "PyTorchJobSuspended", "PyTorchJob sleeper is suspended."),
        ("Suspended", "True", "PyTorchJobSuspended", "PyTorchJob sleeper is suspended."),
    ]
    assert kubectl.run("-n", namespace, "get", "pytorchjob", "sleeper").stdout.splitlines()[1].split()[1] == "Suspended"
    eventually_blocking(lambda: utc_now_rfc3339() > started, "a new second, so a renewed startTime shows")
    kubectl.run("-n", namespace, "patch", "pytorchjob", "sleeper", "--type=merge",
        "-p", '{"spec":{"runPolicy":{"suspend":false}}}')  # fmt: skip
    kubectl.run("-n", namespace, "wait", "--for=condition=Running", "pytorchjob/sleeper",
        f"--timeout={WAIT_SECONDS}s", timeout=WAIT_SECONDS + 10)  # fmt: skip
    assert conditions(kubectl, namespace, "sleeper") == [
        ("Created", "True", "PyTorchJobCreated", "PyTorchJob sleeper is created."),
        ("Suspended", "False", "PyTorchJobResumed", "PyTorchJob sleeper is resumed."),
        ("Running", "True", "PyTorchJobRunning", "PyTorchJob sleeper is running."),
    ]
    assert get(kubectl, namespace, "pytorchjob", "sleeper")["status"]["startTime"] > started
    assert {p["metadata"]["name"] for p in get(kubectl, namespace, "pods")["items"]} == {
        "sleeper-master-0",
        "sleeper-worker-0",
    }


def test_a_job_handed_to_multikueue_gets_no_status_and_no_pods(kubectl: Kubectl, namespace: str) -> None:
    handed = pytorchjob(
        "remote", master="true", worker="true", extra="runPolicy: {managedBy: kueue.x-k8s.io/multikueue}"
    )
    kubectl.run("-n", namespace, "create", "-f", "-", stdin=handed)
    kubectl.run("-n", namespace, "create", "-f", "-", stdin=pytorchjob("local", master="true", worker="true",
        image="busybox", extra="runPolicy: {suspend: true}"))  # fmt: skip
    kubectl.run("-n", namespace, "wait", "--for=condition=Suspended", "pytorchjob/local", "--timeout=30s")
    assert "status" not in get(kubectl, namespace, "pytorchjob", "remote"), "the operator left it to MultiKueue"
    assert get(kubectl, namespace, "pods", "-l", f"{LABEL}/job-name=remote")["items"] == []
    row = kubectl.run("-n", namespace, "get", "pytorchjob", "remote", "--no-headers").stdout.split()
    assert len(row) == 2 and row[0] == "remote", "an empty State column"


def test_the_queue_cannot_change_and_the_api_server_says_so(kubectl: Kubectl, namespace: str) -> None:
    extra = "runPolicy: {suspend: true, schedulingPolicy: {queue: first}}"
    kubectl.run(
        "-n", namespace, "create", "-f", "-", stdin=pytorchjob("queued", master="true", worker="true", extra=extra)
    )
    patch = '{"spec":{"runPolicy":{"schedulingPolicy":{"queue":"second"}}}}'
    result = kubectl.run("-n", namespace, "patch", "pytorchjob", "queued", "--type=merge", "-p", patch, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        'The PyTorchJob "queued" is invalid: spec.runPolicy.schedulingPolicy.queue: Invalid value: "string": '
        "spec.runPolicy.schedulingPolicy.queue is immutable\n"
    ), "the CRD's CEL rule, not the webhook, refuses it"
    other = '{"spec":{"runPolicy":{"schedulingPolicy":{"minAvailable":2}}}}'
    kubectl.run("-n", namespace, "patch", "pytorchjob", "queued", "--type=merge", "-p", other)
