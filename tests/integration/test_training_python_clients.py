"""PyTorchJobs through the Python clients people use: the official `kubernetes` client and Kubeflow's SDK.

Notebooks and pipelines drive the training operator from Python, not kubectl: the kubernetes
client's CustomObjectsApi (a webhook refusal arrives as an ApiException, a warning as a response
header), and the Kubeflow training SDK's `TrainingClient` (create a job from a function, wait for
its conditions, read its logs). The SDK, `kubeflow-training` 1.9, pins `kubernetes<36` and its
create_job no longer passes kubernetes 37's argument validation, so it cannot share the project's
environment: its tests run it in an interpreter of its own (`python -m venv sdk && sdk/bin/pip
install 'kubeflow-training==1.9.*'`) named by TRAINING_SDK_PYTHON, not a KFVAL_* variable as those
are suite settings, and are skipped without one.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kfval.embedded import launch
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

GROUP, VERSION, PLURAL = "kubeflow.org", "v1", "pytorchjobs"
WEBHOOK = "validator.pytorchjob.training-operator.kubeflow.org"
SDK_PYTHON_VARIABLE = "TRAINING_SDK_PYTHON"
SDK_WAIT_SECONDS = 120
SDK_CASES = Path(__file__).with_name("training_sdk_cases.py")


def pytorchjob(name: str, *, command: str, run_policy: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    """A Master 1 + Worker 1 PyTorchJob whose `pytorch` containers run `command` in busybox."""
    container = {"name": "pytorch", "image": "busybox", "command": ["sh", "-c", command]}
    replica = {"replicas": 1, "restartPolicy": "OnFailure", "template": {"spec": {"containers": [container]}}}
    body: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PyTorchJob",
        "metadata": {"name": name},
        "spec": {"pytorchReplicaSpecs": {"Master": dict(replica), "Worker": dict(replica)}, **spec},
    }
    if run_policy is not None:
        body["spec"]["runPolicy"] = run_policy
    return body


def conditions(jobs: client.CustomObjectsApi, ns: str, name: str) -> list[tuple[str, str, str]]:
    job = jobs.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
    return [(c["type"], c["status"], c["reason"]) for c in job.get("status", {}).get("conditions", [])]


def test_the_python_client_suspends_and_resumes_a_job(api: client.ApiClient, ns: str) -> None:
    jobs, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    body = pytorchjob("paused", command="sleep 600", run_policy={"suspend": True})
    created = jobs.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    assert created["spec"]["runPolicy"] == {"suspend": True}
    suspended = [("Created", "True", "PyTorchJobCreated"), ("Suspended", "True", "PyTorchJobSuspended")]
    eventually_blocking(lambda: conditions(jobs, ns, "paused") == suspended, "Created then Suspended")
    assert core.list_namespaced_pod(ns).items == [], "nothing runs while suspended"
    assert "startTime" not in jobs.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "paused")["status"]
    jobs.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "paused", {"spec": {"runPolicy": {"suspend": False}}}
    )
    names = eventually_blocking(lambda: {p.metadata.name for p in core.list_namespaced_pod(ns).items}, "pods")
    assert names == {"paused-master-0", "paused-worker-0"}
    assert ("Suspended", "False", "PyTorchJobResumed") in conditions(jobs, ns, "paused")


def test_a_refusal_reaches_the_python_client_as_the_webhooks_403(api: client.ApiClient, ns: str) -> None:
    jobs = client.CustomObjectsApi(api)
    body = pytorchjob("other", command="true", run_policy={"managedBy": "example.com/other"})
    with pytest.raises(ApiException) as refused:
        jobs.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    assert refused.value.status == 403
    status = json.loads(refused.value.body)
    assert (status["kind"], status["status"], status["reason"], status["code"]) == (
        "Status",
        "Failure",
        "Forbidden",
        403,
    )
    assert status["message"] == (
        f'admission webhook "{WEBHOOK}" denied the request: spec.runPolicy.managedBy: Unsupported value: '
        '"example.com/other": supported values: "kubeflow.org/training-operator", "kueue.x-k8s.io/multikueue"'
    )


def test_the_deprecation_warning_is_a_header_the_python_client_returns(api: client.ApiClient, ns: str) -> None:
    jobs = client.CustomObjectsApi(api)
    body = pytorchjob("elastic", command="true", run_policy={"suspend": True}, elasticPolicy={"nProcPerNode": 1})
    _, code, headers = jobs.create_namespaced_custom_object_with_http_info(GROUP, VERSION, ns, PLURAL, body)
    assert code == 201
    assert headers["Warning"] == '299 - "spec.elasticPolicy.nProcPerNode is deprecated, use spec.nprocPerNode instead"'


@pytest.fixture
def sdk(cluster: launch.ClusterInfo, ns: str) -> Any:
    """Runs one case of training_sdk_cases.py with the SDK's own interpreter; its printed result, parsed."""
    python = os.environ.get(SDK_PYTHON_VARIABLE)
    if not python or not Path(python).exists():
        pytest.skip(f"the Kubeflow training SDK needs an interpreter of its own: set {SDK_PYTHON_VARIABLE}")

    def run(case: str) -> Any:
        done = subprocess.run(
            [python, str(SDK_CASES), str(cluster.kubeconfig), ns, case],
            capture_output=True, text=True, timeout=SDK_WAIT_SECONDS + 60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    return run


def test_the_training_sdk_runs_a_function_and_reads_the_masters_log(sdk: Any) -> None:
    result = sdk("function")
    assert result["conditions"] == ["Created", "Running", "Succeeded"]
    assert result["logs"] == {"sdk-function-master-0": "rank 0 of 1 master sdk-function-master-0\n"}


def test_the_training_sdk_reads_every_replicas_log_with_the_torchrun_env(sdk: Any) -> None:
    result = sdk("replicas")
    assert result["pods"] == ["sdk-replicas-master-0", "sdk-replicas-worker-0"]
    common = ["PET_MASTER_ADDR=sdk-replicas-master-0", "PET_MASTER_PORT=23456", "PET_NNODES=2"]
    for pod, rank in (("sdk-replicas-master-0", "0"), ("sdk-replicas-worker-0", "1")):
        expected = [*common, f"PET_NODE_RANK={rank}", "PET_NPROC_PER_NODE=auto", f"RANK={rank}", "WORLD_SIZE=2"]
        assert result["logs"][pod].splitlines() == expected


def test_the_training_sdk_follows_a_running_masters_log_to_its_end(sdk: Any) -> None:
    """The SDK follows with `follow=True` as its older client sends it; a server that read only `true`
    answered at once with the first line."""
    assert sdk("follow")["logs"] == {"sdk-follow-master-0": "line 1line 2line 3"}


def test_the_training_sdk_surfaces_the_webhooks_refusal(sdk: Any) -> None:
    error = sdk("refused")["error"]
    assert error.startswith("Failed to create PyTorchJob: ") and "Error: (403)\nReason: Forbidden\n" in error
    status = json.loads(error.split("HTTP response body: ", 1)[1])
    assert status["message"] == (
        f'admission webhook "{WEBHOOK}" denied the request: spec.runPolicy.managedBy: Unsupported value: '
        '"example.com/x": supported values: "kubeflow.org/training-operator", "kueue.x-k8s.io/multikueue"'
    )
