"""TFJobs against a real store and reactor, with the test playing the kubelet.

The controller sees pods only through the store, so each test writes pod status there the way the
kubelet does (phase, the `tensorflow` container's state) and polls the store for what the operator
would do: pods, Services, TF_CONFIG, conditions, replicaStatuses, cleanup and events.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kfval.embedded.controllers import tfjob
from kfval.embedded.controllers.tfjob import TFJobController
from kfval.embedded.types import Body
from tests.support.cluster import NAMESPACE, Harness, register_crds, running
from tests.support.loop import on_loop
from tests.support.polling import eventually

JOB = "dist"
LABELS = "training.kubeflow.org"


def replica(replicas: int | None = 1, restart_policy: str | None = None, *, sidecar: bool = False) -> Body:
    containers: list[Body] = [{"name": "tensorflow", "image": "python:3.11"}]
    if sidecar:
        containers.insert(0, {"name": "sidecar", "image": "busybox"})
    spec: Body = {"template": {"spec": {"containers": containers}}}
    if replicas is not None:
        spec["replicas"] = replicas
    if restart_policy is not None:
        spec["restartPolicy"] = restart_policy
    return spec


def tfjob_body(specs: dict[str, Body], **spec: Any) -> Body:
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"name": JOB},
        "spec": {"tfReplicaSpecs": specs, **spec},
    }


class Training:
    """Shortcuts over the harness cluster for TFJobs."""

    def __init__(self, cluster: Harness) -> None:
        self.c = cluster
        register_crds(cluster.store)
        self.jobs = cluster.store.catalog.lookup("kubeflow.org", "v1", "tfjobs")
        self.services = cluster.store.catalog.lookup("", "v1", "services")

    def create(self, body: Body) -> None:
        self.c.store.create(self.jobs, copy.deepcopy(body), namespace=NAMESPACE)

    def status(self) -> dict[str, Any]:
        return dict(self.c.store.get(self.jobs, NAMESPACE, JOB).get("status") or {})

    def conditions(self) -> list[tuple[str, str, str]]:
        return [(x["type"], x["status"], x["reason"]) for x in self.status().get("conditions") or []]

    def message(self, type_: str) -> str:
        return next(str(x["message"]) for x in self.status()["conditions"] if x["type"] == type_)

    def pods(self) -> dict[str, Body]:
        return {p["metadata"]["name"]: p for p in self.c.live_pods()}

    def service_names(self) -> set[str]:
        return {s["metadata"]["name"] for s in self.c.list(self.services)}

    def kubelet(self, name: str, phase: str, *, exit_code: int | None = None) -> None:
        pod = self.c.store.get(self.c.pods, NAMESPACE, name)
        state: Body = {"running": {}} if exit_code is None else {"terminated": {"exitCode": exit_code}}
        container = {"name": "tensorflow", "ready": phase == "Running", "restartCount": 0, "state": state}
        pod["status"] = {"phase": phase, "containerStatuses": [container]}
        self.c.store.replace(self.c.pods, pod, subresource="status")

    async def wait_for(self, *types: str) -> None:
        await eventually(
            lambda: [t for t, s, _ in self.conditions() if s == "True"][-len(types) :] == list(types),
            f"the conditions to end with {', '.join(types)}",
        )

    async def started(self, body: Body, count: int) -> dict[str, Body]:
        self.create(body)
        pods: dict[str, Body] = await eventually(lambda: len(self.pods()) == count and self.pods(), f"{count} pods")
        return pods


def tf_config_of(pod: Body) -> Any:
    """TF_CONFIG of the pod's `tensorflow` container, parsed; None when it has none."""
    container = next(c for c in pod["spec"]["containers"] if c["name"] == "tensorflow")
    values = [e["value"] for e in container.get("env") or [] if e["name"] == "TF_CONFIG"]
    return json.loads(values[0]) if values else None


def ps_and_workers(workers: int = 2, **spec: Any) -> Body:
    return tfjob_body({"PS": replica(1), "Worker": replica(workers)}, **spec)


@on_loop
async def test_pods_and_services_are_named_and_labelled_as_the_operator_does() -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        pods = await t.started(ps_and_workers(2), 3)
        assert set(pods) == {"dist-ps-0", "dist-worker-0", "dist-worker-1"}
        assert pods["dist-ps-0"]["metadata"]["labels"] == {
            f"{LABELS}/operator-name": "tfjob-controller",
            f"{LABELS}/job-name": JOB,
            f"{LABELS}/replica-type": "ps",
            f"{LABELS}/replica-index": "0",
        }
        assert pods["dist-worker-0"]["metadata"]["labels"][f"{LABELS}/job-role"] == "master"
        assert f"{LABELS}/job-role" not in pods["dist-worker-1"]["metadata"]["labels"]
        ref = pods["dist-ps-0"]["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("TFJob", JOB, True)
        assert pods["dist-ps-0"]["spec"]["restartPolicy"] == "Never", "TF's default restart policy"
        assert pods["dist-ps-0"]["spec"]["containers"][0]["ports"] == [{"name": "tfjob-port", "containerPort": 2222}]
        await eventually(lambda: t.service_names() == set(pods), "a Service per pod")
        service = next(s for s in c.list(t.services) if s["metadata"]["name"] == "dist-worker-1")
        assert service["spec"]["clusterIP"] == "None"
        assert service["spec"]["selector"] == pods["dist-worker-1"]["metadata"]["labels"]
        assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [("tfjob-port", 2222)]
        assert ("SuccessfulCreateService", "Created service: dist-ps-0") in c.reasons()
        await eventually(t.conditions, "a condition")
        assert t.conditions() == [("Created", "True", "TFJobCreated")]
        assert t.message("Created") == "TFJob dist is created."


@on_loop
async def test_tf_config_names_every_task_and_the_pods_own() -> None:
    async with running(TFJobController) as c:
        body = tfjob_body({"Worker": replica(2), "ps": replica(2), "Chief": replica(1), "Evaluator": replica(1)})
        pods = await Training(c).started(body, 6)
        cluster = {
            "chief": ["dist-chief-0.demo.svc:2222"],
            "evaluator": ["dist-evaluator-0.demo.svc:2222"],
            "ps": ["dist-ps-0.demo.svc:2222", "dist-ps-1.demo.svc:2222"],
            "worker": ["dist-worker-0.demo.svc:2222", "dist-worker-1.demo.svc:2222"],
        }
        for name, (task_type, index) in {
            "dist-chief-0": ("chief", 0),
            "dist-evaluator-0": ("evaluator", 0),
            "dist-ps-1": ("ps", 1),
            "dist-worker-1": ("worker", 1),
        }.items():
            assert tf_config_of(pods[name]) == {
                "cluster": cluster,
                "task": {"type": task_type, "index": index},
                "environment": "cloud",
            }
        raw = next(e["value"] for e in pods["dist-ps-0"]["spec"]["containers"][0]["env"])
        assert raw == (
            '{"cluster":{"chief":["dist-chief-0.demo.svc:2222"],"evaluator":["dist-evaluator-0.demo.svc:2222"],'
            '"ps":["dist-ps-0.demo.svc:2222","dist-ps-1.demo.svc:2222"],'
            '"worker":["dist-worker-0.demo.svc:2222","dist-worker-1.demo.svc:2222"]},'
            '"task":{"type":"ps","index":0},"environment":"cloud"}'
        ), "compact JSON, cluster keys sorted, fields in the operator's order"
        assert pods["dist-chief-0"]["metadata"]["labels"][f"{LABELS}/job-role"] == "master"
        assert f"{LABELS}/job-role" not in pods["dist-worker-0"]["metadata"]["labels"]


@on_loop
async def test_tf_config_goes_only_into_the_tensorflow_container_and_uses_its_port() -> None:
    async with running(TFJobController) as c:
        worker = replica(2, sidecar=True)
        worker["template"]["spec"]["containers"][1]["ports"] = [{"name": "tfjob-port", "containerPort": 3333}]
        pods = await Training(c).started(tfjob_body({"Worker": worker}), 2)
        sidecar, main = pods["dist-worker-0"]["spec"]["containers"]
        assert "env" not in sidecar and "ports" not in sidecar
        assert [e["name"] for e in main["env"]] == ["TF_CONFIG"], "no other env (no PYTHONUNBUFFERED for TF)"
        assert tf_config_of(pods["dist-worker-0"])["cluster"] == {
            "worker": ["dist-worker-0.demo.svc:3333", "dist-worker-1.demo.svc:3333"]
        }


@on_loop
async def test_a_single_replica_job_gets_no_tf_config() -> None:
    async with running(TFJobController) as c:
        pods = await Training(c).started(tfjob_body({"Worker": replica(None)}), 1)
        assert tf_config_of(pods["dist-worker-0"]) is None


def test_dynamic_workers_get_the_sparse_cluster_spec() -> None:
    job = tfjob_body({"PS": replica(2), "Worker": replica(2)}, enableDynamicWorker=True)
    job["metadata"]["namespace"] = NAMESPACE
    assert json.loads(tfjob.tf_config(job, "Worker", index=1)) == {
        "cluster": {
            "worker": {"1": "dist-worker-1.demo.svc:2222"},
            "ps": ["dist-ps-0.demo.svc:2222", "dist-ps-1.demo.svc:2222"],
        },
        "task": {"type": "worker", "index": 1},
    }
    assert json.loads(tfjob.tf_config(job, "PS", index=1))["cluster"] == {
        "worker": {},
        "ps": ["dist-ps-1.demo.svc:2222"],
    }
    domain = tfjob.tf_config(
        {**job, "spec": {**job["spec"], "enableDynamicWorker": False}}, "PS", index=0, cluster_domain="cluster.local"
    )
    assert json.loads(domain)["cluster"]["ps"][0] == "dist-ps-0.demo.svc.cluster.local:2222"


@on_loop
async def test_worker_zero_decides_success_and_running_ps_then_count_as_succeeded() -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        await t.started(ps_and_workers(2), 3)
        t.kubelet("dist-ps-0", "Running")
        await c.settle()
        assert [x[0] for x in t.conditions()] == ["Created"], "a running PS alone does not make the job Running"
        t.kubelet("dist-worker-1", "Running")
        await t.wait_for("Running")
        assert t.message("Running") == f"TFJob {NAMESPACE}/dist is running."
        t.kubelet("dist-worker-0", "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")
        assert t.conditions() == [
            ("Created", "True", "TFJobCreated"),
            ("Running", "False", "TFJobRunning"),
            ("Succeeded", "True", "TFJobSucceeded"),
        ]
        assert t.message("Succeeded") == f"TFJob {NAMESPACE}/dist successfully completed."
        assert ("TFJobSucceeded", f"TFJob {NAMESPACE}/dist successfully completed.") in c.reasons()
        assert t.status()["completionTime"] and t.status()["startTime"]
        await eventually(lambda: t.status()["replicaStatuses"]["PS"] == {"succeeded": 1}, "the PS counted succeeded")
        assert t.status()["replicaStatuses"]["Worker"] == {"succeeded": 2}
        assert set(t.pods()) == {"dist-ps-0", "dist-worker-0", "dist-worker-1"}, "cleanPodPolicy None keeps them"


@on_loop
async def test_worker_zero_completes_only_with_its_tensorflow_container_exited_zero() -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        await t.started(ps_and_workers(2), 3)
        t.kubelet("dist-worker-1", "Running")
        await t.wait_for("Running")
        t.kubelet("dist-worker-0", "Succeeded")
        await c.settle()
        assert t.conditions()[-1][0] == "Running", "no terminated state of `tensorflow` read yet"
        assert t.status()["replicaStatuses"]["Worker"] == {"active": 1, "succeeded": 1}
        t.kubelet("dist-worker-0", "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")


@on_loop
async def test_all_workers_policy_waits_for_every_worker() -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        await t.started(ps_and_workers(2, successPolicy="AllWorkers"), 3)
        t.kubelet("dist-worker-1", "Running")
        t.kubelet("dist-worker-0", "Succeeded", exit_code=0)
        await t.wait_for("Running")
        await c.settle()
        assert not any(x[0] == "Succeeded" for x in t.conditions())
        t.kubelet("dist-worker-1", "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")


@pytest.mark.parametrize("chief", ["Chief", "Master"])
@on_loop
async def test_the_chief_or_master_decides_when_present(chief: str) -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        pods = await t.started(tfjob_body({chief: replica(1), "Worker": replica(1)}), 2)
        lead = f"dist-{chief.lower()}-0"
        assert pods[lead]["metadata"]["labels"][f"{LABELS}/job-role"] == "master"
        assert f"{LABELS}/job-role" not in pods["dist-worker-0"]["metadata"]["labels"]
        t.kubelet("dist-worker-0", "Succeeded", exit_code=0)
        await c.settle()
        assert [x[0] for x in t.conditions()] == ["Created"], "worker 0 does not decide when a chief exists"
        t.kubelet(lead, "Running")
        await t.wait_for("Running")
        assert t.message("Running") == f"TFJob {NAMESPACE}/dist is running."
        t.kubelet(lead, "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")
        assert t.message("Succeeded") == f"TFJob {NAMESPACE}/dist successfully completed."


@pytest.mark.parametrize("failing", ["dist-worker-0", "dist-ps-0"])
@on_loop
async def test_a_failed_replica_under_never_fails_the_job(failing: str) -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        await t.started(ps_and_workers(1), 2)
        t.kubelet("dist-worker-0", "Running")
        await t.wait_for("Running")
        t.kubelet(failing, "Failed", exit_code=1)
        await t.wait_for("Failed")
        replica_type = "Worker" if "worker" in failing else "PS"
        assert t.conditions()[-1] == ("Failed", "True", "TFJobFailed")
        assert t.message("Failed") == f"TFJob {NAMESPACE}/dist has failed because 1 {replica_type} replica(s) failed."
        assert ("Running", "False", "TFJobRunning") in t.conditions()
        assert t.status()["completionTime"]
        assert ("ExitedWithCode", f"Pod: {NAMESPACE}.{failing} exited with code 1") in c.reasons()


@on_loop
async def test_a_failed_worker_under_on_failure_is_recreated_and_the_job_restarts() -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        await t.started(tfjob_body({"Worker": replica(2, "OnFailure")}), 2)
        first = t.pods()["dist-worker-1"]["metadata"]["uid"]
        t.kubelet("dist-worker-1", "Failed", exit_code=1)
        await eventually(
            lambda: t.pods().get("dist-worker-1", {}).get("metadata", {}).get("uid") not in (None, first),
            "worker 1 created again",
        )
        await t.wait_for("Restarting")
        assert t.conditions()[-1] == ("Restarting", "True", "TFJobRestarting")
        assert t.message("Restarting") == "job dist is restarting because Worker replica(s) failed."
        assert not any(x[0] == "Failed" for x in t.conditions())


@pytest.mark.parametrize(
    ("policy", "left"),
    [("None", {"dist-ps-0", "dist-worker-0"}), ("Running", {"dist-worker-0"}), ("All", set())],
)
@on_loop
async def test_clean_pod_policy_applies_to_ps_pods_after_success(policy: str, left: set[str]) -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        await t.started(ps_and_workers(1, runPolicy={"cleanPodPolicy": policy}), 2)
        await eventually(lambda: len(t.service_names()) == 2, "two Services")
        t.kubelet("dist-ps-0", "Running")
        t.kubelet("dist-worker-0", "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")
        await eventually(lambda: set(t.pods()) == left, "the pods cleanPodPolicy leaves")
        await eventually(lambda: t.service_names() == left, "the Services cleanPodPolicy leaves")
        if policy != "None":
            assert ("SuccessfulDeletePod", "Deleted pod: dist-ps-0") in c.reasons()
            assert ("SuccessfulDeleteService", "Deleted service: dist-ps-0") in c.reasons()


@on_loop
async def test_ttl_after_finished_deletes_the_job_with_the_tf_reason() -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        await t.started(tfjob_body({"Worker": replica(1)}, runPolicy={"ttlSecondsAfterFinished": 0}), 1)
        t.kubelet("dist-worker-0", "Succeeded", exit_code=0)
        await eventually(lambda: not c.store.exists(t.jobs, NAMESPACE, JOB), "the job deleted after its TTL")
        assert ("SuccessfulDeleteJob", "Deleted job: dist") in c.reasons()


@on_loop
async def test_the_default_clean_pod_policy_is_none_and_is_not_stored() -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        await t.started(ps_and_workers(1), 2)
        t.kubelet("dist-ps-0", "Running")
        t.kubelet("dist-worker-0", "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")
        await c.settle()
        assert set(t.pods()) == {"dist-ps-0", "dist-worker-0"}, "the running PS is left, as under None"
        stored = c.store.get(t.jobs, NAMESPACE, JOB)["spec"]
        assert "cleanPodPolicy" not in (stored.get("runPolicy") or {})


@on_loop
async def test_suspending_a_tfjob_removes_its_pods_and_resuming_recreates_them() -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        await t.started(tfjob_body({"Chief": replica(1), "Worker": replica(1)}), 2)
        t.kubelet("dist-chief-0", "Running")
        await t.wait_for("Running")
        job = c.store.get(t.jobs, NAMESPACE, JOB)
        job["spec"].setdefault("runPolicy", {})["suspend"] = True
        c.store.replace(t.jobs, job)
        await t.wait_for("Suspended")
        await eventually(lambda: not t.pods() and not t.service_names(), "every pod and Service removed")
        assert t.conditions() == [
            ("Created", "True", "TFJobCreated"),
            ("Running", "False", "TFJobSuspended"),
            ("Suspended", "True", "TFJobSuspended"),
        ]
        assert t.message("Suspended") == "TFJob dist is suspended."
        job = c.store.get(t.jobs, NAMESPACE, JOB)
        job["spec"]["runPolicy"]["suspend"] = False
        c.store.replace(t.jobs, job)
        await eventually(lambda: len(t.pods()) == 2, "two pods again")
        assert ("Suspended", "False", "TFJobResumed") in t.conditions()
        assert t.message("Suspended") == "TFJob dist is resumed."


@on_loop
async def test_a_tfjob_managed_by_multikueue_gets_no_conditions_and_no_pods() -> None:
    async with running(TFJobController) as c:
        t = Training(c)
        t.create(ps_and_workers(1, runPolicy={"managedBy": "kueue.x-k8s.io/multikueue"}))
        await c.settle()
        assert t.status() == {} and not t.pods() and not t.service_names()
