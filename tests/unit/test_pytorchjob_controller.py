"""PyTorchJobs against a real store and reactor, with the test playing the kubelet.

The controller only sees pods through the store, so each test writes pod status there the way
the kubelet does (phase, the `pytorch` container's state and restart count) and polls the store
for what the operator would do: pods, Services, env, conditions, replicaStatuses and events.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kfval.embedded.controllers import trainingstatus
from kfval.embedded.controllers.pytorchjob import PyTorchJobController
from kfval.embedded.types import Body
from tests.support.clock import START
from tests.support.cluster import NAMESPACE, Harness, register_crds, running
from tests.support.loop import on_loop
from tests.support.polling import eventually

JOB = "train"
LABELS = "training.kubeflow.org"


def replica(replicas: int | None = 1, restart_policy: str | None = None, **template_spec: Any) -> Body:
    spec: Body = {"template": {"spec": {"containers": [{"name": "pytorch", "image": "busybox"}], **template_spec}}}
    if replicas is not None:
        spec["replicas"] = replicas
    if restart_policy is not None:
        spec["restartPolicy"] = restart_policy
    return spec


def pytorchjob(workers: int = 2, *, master: bool = True, run_policy: Body | None = None, **worker: Any) -> Body:
    specs = {"Master": replica(1)} if master else {}
    specs["Worker"] = replica(workers, **worker)
    spec: Body = {"pytorchReplicaSpecs": specs}
    if run_policy is not None:
        spec["runPolicy"] = run_policy
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": JOB}, "spec": spec}


class Training:
    """Shortcuts over the harness cluster for PyTorchJobs."""

    def __init__(self, cluster: Harness) -> None:
        self.c = cluster
        register_crds(cluster.store)
        self.jobs = cluster.store.catalog.lookup("kubeflow.org", "v1", "pytorchjobs")
        self.services = cluster.store.catalog.lookup("", "v1", "services")

    def create(self, body: Body) -> None:
        self.c.store.create(self.jobs, copy.deepcopy(body), namespace=NAMESPACE)

    def job(self) -> Body:
        return self.c.store.get(self.jobs, NAMESPACE, JOB)

    def status(self) -> dict[str, Any]:
        return dict(self.job().get("status") or {})

    def conditions(self) -> list[tuple[str, str, str]]:
        return [(x["type"], x["status"], x["reason"]) for x in self.status().get("conditions") or []]

    def message(self, type_: str) -> str:
        return next(str(x["message"]) for x in self.status()["conditions"] if x["type"] == type_)

    def pods(self) -> dict[str, Body]:
        return {p["metadata"]["name"]: p for p in self.c.live_pods()}

    def service_names(self) -> set[str]:
        return {s["metadata"]["name"] for s in self.c.list(self.services)}

    def kubelet(self, name: str, phase: str, *, exit_code: int | None = None, restarts: int = 0) -> None:
        pod = self.c.store.get(self.c.pods, NAMESPACE, name)
        state: Body = {"running": {}} if exit_code is None else {"terminated": {"exitCode": exit_code}}
        container = {"name": "pytorch", "ready": phase == "Running", "restartCount": restarts, "state": state}
        pod["status"] = {"phase": phase, "containerStatuses": [container]}
        self.c.store.replace(self.c.pods, pod, subresource="status")

    async def wait_for(self, *types: str) -> None:
        await eventually(
            lambda: [t for t, s, _ in self.conditions() if s == "True"][-len(types) :] == list(types),
            f"the conditions to end with {', '.join(types)}",
        )


def env_of(pod: Body) -> dict[str, str]:
    return {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}


async def three_replicas(c: Harness) -> tuple[Training, dict[str, Body]]:
    """A Master + 2 Workers job, created, with its three pods."""
    t = Training(c)
    t.create(pytorchjob(2))
    pods: dict[str, Body] = await eventually(lambda: len(t.pods()) == 3 and t.pods(), "three pods")
    return t, pods


@on_loop
async def test_replica_pods_are_named_labelled_and_owned_as_the_operator_does() -> None:
    async with running(PyTorchJobController) as c:
        _, pods = await three_replicas(c)
        assert set(pods) == {"train-master-0", "train-worker-0", "train-worker-1"}
        worker = pods["train-worker-1"]
        assert worker["metadata"]["labels"] == {
            f"{LABELS}/operator-name": "pytorchjob-controller",
            f"{LABELS}/job-name": JOB,
            f"{LABELS}/replica-type": "worker",
            f"{LABELS}/replica-index": "1",
        }
        assert pods["train-master-0"]["metadata"]["labels"][f"{LABELS}/job-role"] == "master"
        ref = worker["metadata"]["ownerReferences"][0]
        owner = (ref["kind"], ref["name"], ref["controller"], ref["blockOwnerDeletion"])
        assert owner == ("PyTorchJob", JOB, True, True)
        assert worker["spec"]["restartPolicy"] == "OnFailure"
        assert worker["spec"]["containers"][0]["ports"] == [{"name": "pytorchjob-port", "containerPort": 23456}]
        assert ("SuccessfulCreatePod", "Created pod: train-worker-0") in c.reasons()


@on_loop
async def test_the_distributed_env_and_the_init_container_are_injected() -> None:
    async with running(PyTorchJobController) as c:
        _, pods = await three_replicas(c)
        master, worker = pods["train-master-0"], pods["train-worker-1"]
        assert list(env_of(worker).items()) == [
            ("PYTHONUNBUFFERED", "1"),
            ("MASTER_PORT", "23456"),
            ("PET_MASTER_PORT", "23456"),
            ("MASTER_ADDR", "train-master-0"),
            ("PET_MASTER_ADDR", "train-master-0"),
            ("WORLD_SIZE", "3"),
            ("RANK", "2"),
            ("PET_NODE_RANK", "2"),
            ("PET_NPROC_PER_NODE", "auto"),
            ("PET_NNODES", "3"),
        ]
        assert env_of(master)["RANK"] == "0" and "initContainers" not in master["spec"]
        (init,) = worker["spec"]["initContainers"]
        assert (init["name"], init["image"]) == ("init-pytorch", "alpine:3.10")
        assert "nslookup train-master-0" in init["command"][2] and "seq 100" in init["command"][2]


@on_loop
async def test_headless_services_and_status_while_pods_are_pending_and_no_defaults_are_stored() -> None:
    async with running(PyTorchJobController) as c:
        t, pods = await three_replicas(c)
        await eventually(lambda: t.service_names() == set(pods), "a Service per pod")
        service = next(s for s in c.list(t.services) if s["metadata"]["name"] == "train-worker-1")
        assert service["spec"]["clusterIP"] == "None"
        assert service["spec"]["selector"] == pods["train-worker-1"]["metadata"]["labels"]
        assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [("pytorchjob-port", 23456)]
        assert ("SuccessfulCreateService", "Created service: train-master-0") in c.reasons()
        await eventually(lambda: t.status().get("startTime"), "startTime")
        stored = t.job()["spec"]
        assert "restartPolicy" not in stored["pytorchReplicaSpecs"]["Worker"]
        assert "cleanPodPolicy" not in stored.get("runPolicy", {})
        assert "ports" not in stored["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
        assert t.conditions() == [("Created", "True", "PyTorchJobCreated")]
        assert t.message("Created") == "PyTorchJob train is created."
        selector = f"{LABELS}/job-name=train,{LABELS}/operator-name=pytorchjob-controller,{LABELS}/replica-type="
        assert t.status()["replicaStatuses"] == {
            "Master": {"selector": selector + "master"},
            "Worker": {"selector": selector + "worker"},
        }


@on_loop
async def test_the_master_alone_decides_success_and_active_workers_then_count_as_succeeded() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(2))
        await eventually(lambda: len(t.pods()) == 3, "three pods")
        t.kubelet("train-worker-0", "Running")
        await c.settle()
        assert t.conditions() == [("Created", "True", "PyTorchJobCreated")]
        t.kubelet("train-master-0", "Running")
        await t.wait_for("Running")
        assert t.message("Running") == "PyTorchJob train is running."
        t.kubelet("train-worker-1", "Running")
        t.kubelet("train-master-0", "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")
        assert t.conditions() == [
            ("Created", "True", "PyTorchJobCreated"),
            ("Running", "False", "PyTorchJobRunning"),
            ("Succeeded", "True", "PyTorchJobSucceeded"),
        ]
        assert t.message("Succeeded") == "PyTorchJob train is successfully completed."
        assert t.status()["completionTime"]
        assert ("PyTorchJobSucceeded", "PyTorchJob train is successfully completed.") in c.reasons()
        assert ("ExitedWithCode", f"Pod: {NAMESPACE}.train-master-0 exited with code 0") in c.reasons()
        assert len(t.pods()) == 3, "cleanPodPolicy None keeps every pod"
        t.kubelet("train-worker-1", "Running", restarts=0)
        await eventually(lambda: t.status()["replicaStatuses"]["Worker"].get("succeeded") == 2, "two succeeded workers")
        assert "active" not in t.status()["replicaStatuses"]["Worker"]


@on_loop
async def test_a_worker_failure_under_never_fails_the_job() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, restart_policy="Never"))
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        assert t.pods()["train-worker-0"]["spec"]["restartPolicy"] == "Never"
        t.kubelet("train-master-0", "Running")
        t.kubelet("train-worker-0", "Failed", exit_code=1)
        await t.wait_for("Failed")
        assert t.conditions()[-1] == ("Failed", "True", "PyTorchJobFailed")
        assert t.message("Failed") == "PyTorchJob train is failed because 1 Worker replica(s) failed."
        assert ("Running", "False", "PyTorchJobRunning") in t.conditions()
        assert t.status()["completionTime"]
        assert t.status()["replicaStatuses"]["Worker"]["failed"] == 1
        t.kubelet("train-master-0", "Succeeded", exit_code=0)
        await c.settle()
        assert t.conditions()[-1][0] == "Failed", "nothing changes after Failed"


@on_loop
async def test_a_failed_pod_is_recreated_under_on_failure_and_the_job_restarts() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1))
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        first = t.pods()["train-worker-0"]["metadata"]["uid"]
        t.kubelet("train-worker-0", "Failed", exit_code=137)
        await eventually(
            lambda: t.pods().get("train-worker-0", {}).get("metadata", {}).get("uid") not in (None, first),
            "worker 0 created again",
        )
        await t.wait_for("Restarting")
        assert t.message("Restarting") == "job train is restarting because Worker replica(s) failed."
        assert ("SuccessfulDeletePod", "Deleted pod: train-worker-0") in c.reasons()
        t.kubelet("train-master-0", "Running")
        await t.wait_for("Running")
        assert [x[0] for x in t.conditions()] == ["Created", "Running"], "Running replaces Restarting"


@pytest.mark.parametrize(
    ("code", "recreated", "last"),
    [(137, True, "Restarting"), (1, False, "Failed")],
)
@on_loop
async def test_exit_code_policy_retries_only_retryable_codes(code: int, recreated: bool, last: str) -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, restart_policy="ExitCode"))
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        assert t.pods()["train-worker-0"]["spec"]["restartPolicy"] == "Never"
        t.kubelet("train-worker-0", "Failed", exit_code=code)
        await t.wait_for(last)
        assert ("train-worker-0" in t.pods()) is True
        deleted = ("SuccessfulDeletePod", "Deleted pod: train-worker-0") in c.reasons()
        assert deleted is recreated
        if last == "Failed":
            assert t.message("Failed") == 'job "train" is failing because "Worker" replica(s) failed.'
            assert "completionTime" not in t.status()


@pytest.mark.parametrize(
    ("policy", "left"),
    [("None", {"train-master-0", "train-worker-0"}), ("Running", {"train-master-0"}), ("All", set())],
)
@on_loop
async def test_clean_pod_policy_applies_once_the_job_has_succeeded(policy: str, left: set[str]) -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, run_policy={"cleanPodPolicy": policy}))
        await eventually(lambda: len(t.pods()) == 2 and len(t.service_names()) == 2, "two pods and two Services")
        t.kubelet("train-worker-0", "Running")
        await c.settle()
        assert len(t.pods()) == 2, "nothing is cleaned before the job finishes"
        t.kubelet("train-master-0", "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")
        await eventually(lambda: set(t.pods()) == left, "the pods cleanPodPolicy leaves")
        await eventually(lambda: t.service_names() == left, "the Services cleanPodPolicy leaves")


@on_loop
async def test_backoff_limit_counts_container_restarts_and_removes_every_pod() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, run_policy={"backoffLimit": 2}))
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        t.kubelet("train-worker-0", "Running", restarts=1)
        await c.settle()
        assert not any(x[0] == "Failed" for x in t.conditions())
        t.kubelet("train-worker-0", "Running", restarts=2)
        await t.wait_for("Failed")
        assert t.message("Failed") == "Job train has failed because it has reached the specified backoff limit"
        await eventually(lambda: not t.pods() and not t.service_names(), "every pod and Service removed")
        assert t.status()["completionTime"]


@on_loop
async def test_active_deadline_fails_the_job_on_its_next_reconcile() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, run_policy={"activeDeadlineSeconds": 0}))
        await t.wait_for("Failed")
        assert t.message("Failed") == "Job train has failed because it was active longer than specified deadline"


@on_loop
async def test_suspend_removes_pods_and_resume_brings_them_back() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1))
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        t.kubelet("train-master-0", "Running")
        await t.wait_for("Running")
        job = t.job()
        job["spec"].setdefault("runPolicy", {})["suspend"] = True
        c.store.replace(t.jobs, job)
        await t.wait_for("Suspended")
        await eventually(lambda: not t.pods() and not t.service_names(), "every pod and Service removed")
        assert t.conditions()[1:] == [
            ("Running", "False", "PyTorchJobSuspended"),
            ("Suspended", "True", "PyTorchJobSuspended"),
        ]
        assert t.message("Suspended") == "PyTorchJob train is suspended."
        job = t.job()
        job["spec"]["runPolicy"]["suspend"] = False
        c.store.replace(t.jobs, job)
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        assert ("Suspended", "False", "PyTorchJobResumed") in t.conditions()
        assert ("PyTorchJobResumed", "PyTorchJob train is resumed.") in c.reasons()


@on_loop
async def test_a_job_created_suspended_gets_no_pods_and_no_start_time() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, run_policy={"suspend": True}))
        await t.wait_for("Created", "Suspended")
        await c.settle()
        assert t.conditions() == [
            ("Created", "True", "PyTorchJobCreated"),
            ("Suspended", "True", "PyTorchJobSuspended"),
        ]
        assert (t.message("Created"), t.message("Suspended")) == (
            "PyTorchJob train is created.",
            "PyTorchJob train is suspended.",
        )
        assert not t.pods() and not t.service_names()
        assert "startTime" not in t.status()


@on_loop
async def test_resuming_renews_the_start_time_and_the_job_runs_again() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1))
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        t.kubelet("train-master-0", "Running")
        await t.wait_for("Running")
        first_start = t.status()["startTime"]
        job = t.job()
        job["spec"].setdefault("runPolicy", {})["suspend"] = True
        c.store.replace(t.jobs, job)
        await t.wait_for("Suspended")
        await eventually(lambda: not t.pods(), "every pod removed")
        counters = t.status()["replicaStatuses"]
        assert not any(counters[k].get("active") for k in ("Master", "Worker")), "nothing active while suspended"
        await c.advance(30)
        job = t.job()
        job["spec"]["runPolicy"]["suspend"] = False
        c.store.replace(t.jobs, job)
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        assert t.status()["startTime"] > first_start, "resuming renews startTime"
        t.kubelet("train-master-0", "Running")
        await t.wait_for("Running")
        assert t.conditions() == [
            ("Created", "True", "PyTorchJobCreated"),
            ("Suspended", "False", "PyTorchJobResumed"),
            ("Running", "True", "PyTorchJobRunning"),
        ]


@on_loop
async def test_a_job_managed_by_multikueue_gets_no_conditions_and_no_pods() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, run_policy={"managedBy": "kueue.x-k8s.io/multikueue"}))
        await c.settle()
        assert t.status() == {} and not t.pods() and not t.service_names()


@on_loop
async def test_a_job_managed_by_the_training_operator_by_name_runs_as_usual() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, run_policy={"managedBy": "kubeflow.org/training-operator"}))
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        assert t.conditions() == [("Created", "True", "PyTorchJobCreated")]


@on_loop
async def test_ttl_after_finished_deletes_the_job() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, run_policy={"ttlSecondsAfterFinished": 1}))
        await eventually(lambda: len(t.pods()) == 2, "two pods")
        t.kubelet("train-master-0", "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")
        await c.advance(1.0)
        await eventually(lambda: not c.store.exists(t.jobs, NAMESPACE, JOB), "the job deleted after its TTL")
        assert ("SuccessfulDeletePod", "Deleted job: train") in c.reasons()


@on_loop
async def test_a_worker_only_job_makes_worker_zero_the_master_role() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(2, master=False))
        pods = await eventually(lambda: len(t.pods()) == 2 and t.pods(), "two pods")
        assert pods["train-worker-0"]["metadata"]["labels"][f"{LABELS}/job-role"] == "master"
        assert f"{LABELS}/job-role" not in pods["train-worker-1"]["metadata"]["labels"]
        assert env_of(pods["train-worker-1"]) == {
            "PYTHONUNBUFFERED": "1",
            "PET_NPROC_PER_NODE": "auto",
            "PET_NNODES": "2",
        }
        assert "initContainers" not in pods["train-worker-1"]["spec"]
        t.kubelet("train-worker-0", "Running")
        await t.wait_for("Running")
        assert t.message("Running") == f"PyTorchJob {NAMESPACE}/train is running."
        t.kubelet("train-worker-0", "Succeeded", exit_code=0)
        t.kubelet("train-worker-1", "Succeeded", exit_code=0)
        await t.wait_for("Succeeded")
        assert t.message("Succeeded") == f"PyTorchJob {NAMESPACE}/train successfully completed."


@on_loop
async def test_a_template_restart_policy_is_overwritten_with_a_warning() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(1, restartPolicy="Always"))
        await eventually(lambda: "train-worker-0" in t.pods(), "the worker pod")
        assert t.pods()["train-worker-0"]["spec"]["restartPolicy"] == "OnFailure"
        warning = "Restart policy in pod template will be overwritten by restart policy in replica spec"
        assert ("SetPodTemplateRestartPolicy", warning) in c.reasons()


@on_loop
async def test_scaling_workers_down_deletes_the_surplus_pod_and_service() -> None:
    async with running(PyTorchJobController) as c:
        t = Training(c)
        t.create(pytorchjob(2))
        await eventually(lambda: len(t.pods()) == 3 and len(t.service_names()) == 3, "three pods and three Services")
        job = t.job()
        job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] = 1
        c.store.replace(t.jobs, job)
        await eventually(lambda: set(t.pods()) == {"train-master-0", "train-worker-0"}, "worker 1 removed")
        await eventually(
            lambda: t.service_names() == {"train-master-0", "train-worker-0"}, "the Service of worker 1 removed"
        )
        assert env_of(t.pods()["train-worker-0"])["WORLD_SIZE"] == "3", "env is fixed at pod creation"


def test_condition_rules_follow_the_operator() -> None:
    now = START
    status: dict[str, Any] = {}
    trainingstatus.mark_created(status, "PyTorchJob", name=JOB, now=now)
    running_reason = {"reason": "PyTorchJobRunning", "message": "running", "now": now}
    trainingstatus.set_condition(status, "Running", "True", **running_reason)
    first = copy.deepcopy(status)
    trainingstatus.set_condition(status, "Running", "True", **{**running_reason, "message": "other"})
    assert status == first, "same status and reason: no change at all"
    trainingstatus.set_condition(status, "Restarting", "True", reason="PyTorchJobRestarting", message="r", now=now)
    assert [c["type"] for c in status["conditions"]] == ["Created", "Restarting"]
    trainingstatus.set_condition(status, "Running", "True", **running_reason)
    trainingstatus.set_condition(status, "Created", "True", reason="Other", message="again", now=now)
    assert [c["type"] for c in status["conditions"]] == ["Running", "Created"], "re-set conditions move last"
    trainingstatus.set_condition(status, "Failed", "True", reason="PyTorchJobFailed", message="f", now=now)
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [
        ("Running", "False"),
        ("Created", "True"),
        ("Failed", "True"),
    ]
    frozen = copy.deepcopy(status)
    trainingstatus.set_condition(status, "Succeeded", "True", reason="PyTorchJobSucceeded", message="s", now=now)
    assert status == frozen, "nothing changes after Failed"


def test_replica_statuses_omit_zero_counters_and_settle_after_success() -> None:
    status: dict[str, Any] = {}
    counters = trainingstatus.reset_replicas(status, "Worker")
    for phase in ("Pending", "Running", "Running", "Failed"):
        trainingstatus.count_pod(counters, {"metadata": {}, "status": {"phase": phase}})
    trainingstatus.count_pod(counters, {"metadata": {"deletionTimestamp": "x"}, "status": {"phase": "Running"}})
    trainingstatus.reset_replicas(status, "Master")
    assert trainingstatus.serialized(status)["replicaStatuses"] == {"Worker": {"active": 2, "failed": 2}, "Master": {}}
    trainingstatus.settle_succeeded(status)
    assert trainingstatus.serialized(status)["replicaStatuses"]["Worker"] == {"succeeded": 2, "failed": 2}
