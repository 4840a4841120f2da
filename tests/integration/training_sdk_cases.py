"""The Kubeflow training SDK's side of tests/integration/test_training_python_clients.py.

Run by the SDK's own interpreter (`kubeflow-training` 1.9 cannot share the project's kubernetes
client), as `python training_sdk_cases.py <kubeconfig> <namespace> <case>`; prints one JSON line with
what the case saw. A file rather than `python -c`: the SDK reads a training function's source with
`inspect`, which needs one.
"""

import json
import sys
import time

from kubeflow.training import TrainingClient, models
from kubernetes import client, config

WAIT_SECONDS = 120
"""Bounds each wait; the test allows a minute more for the whole run."""

kubeconfig, namespace, case = sys.argv[1:4]
configuration = client.Configuration()
config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
sdk = TrainingClient(client_configuration=configuration, namespace=namespace)


def train():
    import os

    print("rank", os.environ["RANK"], "of", os.environ["WORLD_SIZE"], "master", os.environ["MASTER_ADDR"])


PRINT_ENV = "env | grep -E '^(PET_|RANK|WORLD_SIZE)' | sort"
AWAIT_WORKER = (
    "import os, socket; server = socket.create_server(('', int(os.environ['MASTER_PORT']))); "
    "server.settimeout(120); server.accept()[0].close()"
)
CHECK_IN = (
    "import os, socket, time; address = (os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT'])); "
    "next(i for i in range(120) if socket.socket().connect_ex(address) == 0 or time.sleep(1))"
)
"""A rendezvous, as torch.distributed's: the master ends only once its worker has reached it, so the
worker's init container still finds the master's name (a finished pod leaves its headless Service)."""


def replica(command):
    container = client.V1Container(name="pytorch", image="python:3.11", command=["sh", "-c", command])
    template = client.V1PodTemplateSpec(spec=client.V1PodSpec(containers=[container]))
    return models.KubeflowOrgV1ReplicaSpec(replicas=1, restart_policy="OnFailure", template=template)


def job(name, master, worker, run_policy=None):
    spec = models.KubeflowOrgV1PyTorchJobSpec(
        run_policy=run_policy or models.KubeflowOrgV1RunPolicy(),
        pytorch_replica_specs={"Master": replica(master), "Worker": replica(worker)},
    )
    metadata = client.V1ObjectMeta(name=name, namespace=namespace)
    return models.KubeflowOrgV1PyTorchJob(
        api_version="kubeflow.org/v1", kind="PyTorchJob", metadata=metadata, spec=spec
    )


def every_pod_done(name):
    """The master alone decides success: a worker may still be starting when the job has succeeded."""
    for _ in range(WAIT_SECONDS):
        if all(pod.status.phase == "Succeeded" for pod in sdk.get_job_pods(name)):
            return
        time.sleep(1)


if case == "function":
    sdk.create_job(name="sdk-function", base_image="python:3.11", train_func=train, num_workers=1)
    done = sdk.wait_for_job_conditions("sdk-function", wait_timeout=WAIT_SECONDS, polling_interval=1)
    logs, _ = sdk.get_job_logs("sdk-function")
    result = {"conditions": [c.type for c in done.status.conditions], "logs": logs}
elif case == "replicas":
    master, worker = f'{PRINT_ENV}; python -c "{AWAIT_WORKER}"', f'{PRINT_ENV}; python -c "{CHECK_IN}"'
    sdk.create_job(job=job("sdk-replicas", master, worker))
    sdk.wait_for_job_conditions("sdk-replicas", wait_timeout=WAIT_SECONDS, polling_interval=1)
    every_pod_done("sdk-replicas")
    logs, _ = sdk.get_job_logs("sdk-replicas", is_master=False)
    result = {"logs": logs, "pods": sorted(sdk.get_job_pod_names("sdk-replicas", is_master=False))}
elif case == "follow":
    talker = "echo line 1; sleep 2; echo line 2; sleep 1; echo line 3"
    sdk.create_job(job=job("sdk-follow", talker, "true"))
    for _ in range(WAIT_SECONDS):
        pods = sdk.get_job_pods("sdk-follow")
        if pods and pods[0].status.phase == "Running":
            break
        time.sleep(0.2)
    logs, _ = sdk.get_job_logs("sdk-follow", follow=True)
    result = {"logs": logs}
else:
    try:
        sdk.create_job(
            job=job("sdk-refused", "true", "true", models.KubeflowOrgV1RunPolicy(managed_by="example.com/x"))
        )
        result = {"error": None}
    except RuntimeError as error:
        result = {"error": str(error)}
print(json.dumps(result))
