"""The emulated training operator seen from kubectl: TFJobs applied, run, judged and cleaned up.

Each test applies a TFJob the way a user would and reads back what the Kubeflow training operator
v1.9 produces: pods and headless Services per task, TF_CONFIG in the `tensorflow` container with
host names that resolve inside the pods, success decided by worker 0, parameter servers that never
exit and what cleanPodPolicy does with them, and the webhook's refusals (an invalid job, a change of
manager), suspended at creation. The tasks
are plain Python programs, not TensorFlow: what is under test is the operator, not the framework.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.integration

LABEL = "training.kubeflow.org"
WAIT_SECONDS = 90
TASK = """
import json, os, socket, time
raw = os.environ['TF_CONFIG']
print('TF_CONFIG=' + raw, flush=True)
config = json.loads(raw)
task = config['task']
me = config['cluster'][task['type']][task['index']]
peers = [a for addresses in config['cluster'].values() for a in addresses if a != me]
deadline = time.monotonic() + 60

def retried(attempt):
    while True:
        try:
            return attempt()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

for address in [me, *peers]:
    host = address.rsplit(':', 1)[0]
    print(host + '=' + retried(lambda: socket.gethostbyname(host)), flush=True)
if task == {'type': 'worker', 'index': 0}:
    for address in peers:
        host, port = address.rsplit(':', 1)
        retried(lambda: socket.create_connection((host, int(port)), timeout=2).close())
        print('reached ' + address, flush=True)
else:
    with socket.create_server(('', int(me.rsplit(':', 1)[1]))) as server:
        server.accept()[0].close()
    print('worker 0 checked in; sleeping forever', flush=True)
    os.execvp('sleep', ['sleep', '3600'])
"""
"""Every task prints TF_CONFIG and resolves every task's host. Worker 0 then calls each other task
on its TF_CONFIG port, so it knows the others have resolved the whole cluster, and exits 0: that
decides the job. The PS and worker 1 answer that call and then `sleep`, never exiting, as parameter
servers and ParameterServerStrategy workers never do."""


def tfjob(name: str, *, extra: str = "") -> str:
    """A PS 1 + Worker 2 TFJob whose `tensorflow` containers run the task above."""
    replica = """
    {kind}:
      replicas: {replicas}
      template:
        spec:
          containers:
          - name: tensorflow
            image: python:3.11
            command: ["python", "-c", {script}]"""
    return f"""
apiVersion: kubeflow.org/v1
kind: TFJob
metadata:
  name: {name}
spec:
  {extra}
  tfReplicaSpecs:""" + "".join(
        replica.format(kind=kind, replicas=count, script=json.dumps(TASK)) for kind, count in (("PS", 1), ("Worker", 2))
    )


def get(kubectl: Kubectl, namespace: str, *what: str) -> Any:
    return json.loads(kubectl.run("-n", namespace, "get", *what, "-o", "json").stdout)


def wait_for(kubectl: Kubectl, namespace: str, job: str, condition: str) -> None:
    kubectl.run(
        "-n", namespace, "wait", f"--for=condition={condition}", f"tfjob/{job}",
        f"--timeout={WAIT_SECONDS}s", timeout=WAIT_SECONDS + 10,
    )  # fmt: skip


def pods_by_name(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    return {p["metadata"]["name"]: p for p in get(kubectl, namespace, "pods")["items"]}


def test_tf_config_names_resolve_and_worker_zero_decides_success(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=tfjob("hello"))
    wait_for(kubectl, namespace, "hello", "Succeeded")
    job = get(kubectl, namespace, "tfjob", "hello")
    condition = job["status"]["conditions"][-1]
    assert (condition["type"], condition["reason"]) == ("Succeeded", "TFJobSucceeded")
    assert condition["message"] == f"TFJob {namespace}/hello successfully completed."
    pods = pods_by_name(kubectl, namespace)
    assert set(pods) == {"hello-ps-0", "hello-worker-0", "hello-worker-1"}
    assert pods["hello-worker-0"]["metadata"]["labels"][f"{LABEL}/job-role"] == "master"
    assert {s["metadata"]["name"] for s in get(kubectl, namespace, "services")["items"]} == set(pods)
    cluster = {
        "ps": [f"hello-ps-0.{namespace}.svc:2222"],
        "worker": [f"hello-worker-0.{namespace}.svc:2222", f"hello-worker-1.{namespace}.svc:2222"],
    }
    ips = {name: pod["status"]["podIP"] for name, pod in pods.items()}
    for name, task in (("hello-ps-0", ("ps", 0)), ("hello-worker-0", ("worker", 0)), ("hello-worker-1", ("worker", 1))):
        log = kubectl.run("-n", namespace, "logs", name, "-c", "tensorflow").stdout.splitlines()
        config = json.loads(next(line for line in log if line.startswith("TF_CONFIG="))[len("TF_CONFIG=") :])
        expected = {"cluster": cluster, "task": {"type": task[0], "index": task[1]}, "environment": "cloud"}
        assert config == expected, name
        for peer, ip in ips.items():
            assert f"{peer}.{namespace}.svc={ip}" in log, (name, peer, log)
    assert pods["hello-ps-0"]["status"]["phase"] == "Running", "cleanPodPolicy None leaves the PS running"
    kubectl.run(
        "-n", namespace, "wait", "--for=jsonpath={.status.replicaStatuses.PS.succeeded}=1", "tfjob/hello",
        "--timeout=30s",
    )  # fmt: skip
    assert pods_by_name(kubectl, namespace)["hello-ps-0"]["status"]["phase"] == "Running"
    table = kubectl.run("-n", namespace, "get", "tfjob", "hello").stdout
    assert "Succeeded" in table.splitlines()[1]


def test_clean_pod_policy_running_removes_the_ps_after_success(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=tfjob("tidy", extra="runPolicy: {cleanPodPolicy: Running}"))
    wait_for(kubectl, namespace, "tidy", "Succeeded")
    for kind in ("pod", "service"):
        for name in ("tidy-ps-0", "tidy-worker-1"):
            kubectl.run("-n", namespace, "wait", "--for=delete", f"{kind}/{name}", "--timeout=30s")
    assert set(pods_by_name(kubectl, namespace)) == {"tidy-worker-0"}, "the completed worker 0 keeps its logs"
    services = {s["metadata"]["name"] for s in get(kubectl, namespace, "services")["items"]}
    assert services == {"tidy-worker-0"}
    events = get(kubectl, namespace, "events", "--field-selector", "involvedObject.name=tidy")["items"]
    assert ("SuccessfulDeletePod", "Deleted pod: tidy-ps-0") in {(e["reason"], e["message"]) for e in events}


def test_a_tfjob_with_two_chiefs_is_refused(kubectl: Kubectl, namespace: str) -> None:
    job = tfjob("twochiefs").replace("    PS:", "    Chief:").replace("    Worker:", "    Master:")
    result = kubectl.run("-n", namespace, "apply", "-f", "-", stdin=job, check=False)
    assert result.returncode != 0
    assert (
        'Error from server (Forbidden): error when creating "STDIN": admission webhook '
        '"validator.tfjob.training-operator.kubeflow.org" denied the request: '
        "spec.tfReplicaSpecs: Forbidden: must not have more than 1 Chief or Master role"
    ) in result.stderr
    assert kubectl.run("-n", namespace, "get", "tfjobs", "-o", "name").stdout.strip() == ""


def test_a_suspended_tfjob_keeps_its_manager(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=tfjob("held", extra="runPolicy: {suspend: true}"))
    wait_for(kubectl, namespace, "held", "Suspended")
    conditions = get(kubectl, namespace, "tfjob", "held")["status"]["conditions"]
    assert [(c["type"], c["reason"], c["message"]) for c in conditions] == [
        ("Created", "TFJobCreated", "TFJob held is created."),
        ("Suspended", "TFJobSuspended", "TFJob held is suspended."),
    ]
    assert get(kubectl, namespace, "pods")["items"] == [], "a job suspended at creation starts no pod"
    patch = '{"spec":{"runPolicy":{"managedBy":"kueue.x-k8s.io/multikueue"}}}'
    result = kubectl.run("-n", namespace, "patch", "tfjob", "held", "--type=merge", "-p", patch, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        'Error from server (Forbidden): admission webhook "validator.tfjob.training-operator.kubeflow.org" '
        'denied the request: spec.runPolicy.managedBy: Invalid value: "kueue.x-k8s.io/multikueue": '
        "field is immutable\n"
    )
