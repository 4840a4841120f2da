"""The TFJob controller of the Kubeflow training operator (v1.9 behaviour).

Distributed TensorFlow finds its peers through one variable: TF_CONFIG, the cluster spec of every
task as `<job>-<type>-<i>.<ns>.svc:2222`, injected only into the `tensorflow` container. TF
scenarios also depend on who decides success (the chief, else worker 0, or every worker under
`successPolicy: AllWorkers`) and on parameter servers that never exit: with the default
cleanPodPolicy None they stay Running after the job succeeded. The common half of the operator
(pods, Services, restart and run policies, conditions) is `trainingjobs`; this module is the TF half.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.controllers import podtemplates, trainingjobs
from kfval.embedded.controllers import trainingreplicas as replicas
from kfval.embedded.controllers import trainingstatus as conditions
from kfval.embedded.controllers.reactor import Watched
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey

CHIEF = "Chief"
EVALUATOR = "Evaluator"
MASTER = "Master"
PS = "PS"
WORKER = "Worker"
KIND = replicas.JobKind(
    kind="TFJob",
    resource="tfjobs",
    replica_specs_field="tfReplicaSpecs",
    replica_types=(CHIEF, EVALUATOR, MASTER, PS, WORKER),
    container="tensorflow",
    port_name="tfjob-port",
    default_port=2222,
    default_restart_policy="Never",
    job_deleted_reason="SuccessfulDeleteJob",
)
TF_CONFIG = "TF_CONFIG"
ALL_WORKERS = "AllWorkers"
CHIEF_ROLES = (CHIEF, MASTER)


def has_chief(specs: Mapping[str, Any]) -> bool:
    """Whether a Chief or Master spec exists: then it alone decides success (upstream
    `ContainsChiefOrMasterSpec`)."""
    return any(role in specs for role in CHIEF_ROLES)


def is_distributed(specs: Mapping[str, Body]) -> bool:
    """Upstream `isDistributed`: every task count but one; a single-task job gets no TF_CONFIG."""
    total = sum(int(specs[t].get("replicas", 1)) for t in KIND.replica_types if t in specs)
    return total != 1


def task_port(replica: Mapping[str, Any]) -> int:
    """The `tfjob-port` of the `tensorflow` container, 2222 when there is none."""
    container = replicas.default_container(((replica.get("template") or {}).get("spec") or {}), KIND) or {}
    for port in container.get("ports") or []:
        if port.get("name") == KIND.port_name:
            return int(port["containerPort"])
    return KIND.default_port


def cluster_spec(job: Body, *, cluster_domain: str = "") -> dict[str, list[str]]:
    """Every task's address by lowercased type, keys sorted as Go marshals a map."""
    name, namespace = job["metadata"]["name"], job["metadata"]["namespace"]
    suffix = f".{cluster_domain}" if cluster_domain else ""
    specs = replicas.replica_specs(job, KIND)
    cluster: dict[str, list[str]] = {}
    for replica_type in sorted(specs, key=str.lower):
        spec = specs[replica_type]
        port = task_port(spec)
        cluster[replica_type.lower()] = [
            f"{replicas.replica_name(name, replica_type, index=i)}.{namespace}.svc{suffix}:{port}"
            for i in range(int(spec["replicas"]))
        ]
    return cluster


def tf_config(job: Body, replica_type: str, *, index: int, cluster_domain: str = "") -> str:
    """TF_CONFIG as upstream `genTFConfigJSONStr` writes it: compact JSON, cluster, task, environment;
    the sparse form without `environment` under `enableDynamicWorker`."""
    cluster = cluster_spec(job, cluster_domain=cluster_domain)
    task_type = replica_type.lower()
    task = {"type": task_type, "index": index}
    if not job["spec"].get("enableDynamicWorker"):
        return json.dumps({"cluster": cluster, "task": task, "environment": "cloud"}, separators=(",", ":"))
    sparse: dict[str, Any] = {"worker": {}, "ps": []}
    if task_type == PS.lower():
        sparse["ps"] = [cluster[task_type][index]]
    elif task_type == WORKER.lower():
        sparse = {"worker": {str(index): cluster[task_type][index]}, "ps": cluster.get(PS.lower())}
    return json.dumps({"cluster": sparse, "task": task}, separators=(",", ":"))


def is_worker_zero_completed(pods: Sequence[Body]) -> bool:
    """Upstream `IsWorker0Completed`: exactly one worker-0 pod, phase Succeeded, and its
    `tensorflow` container terminated with code 0."""
    zeros = [p for p in replicas.of_type(list(pods), WORKER) if replicas.index_of(p) == 0]
    if len(zeros) != 1:
        return False
    pod = zeros[0]
    return (pod.get("status") or {}).get("phase") == "Succeeded" and replicas.exit_code(pod, KIND) == 0


class TFFramework:
    """The TensorFlow half of the operator, plugged into the common reconcile loop."""

    kind = KIND

    def __init__(self, store: Store, *, cluster_domain: str = "") -> None:
        self._store = store
        self._pods = store.catalog.lookup("", "v1", "pods")
        self.cluster_domain = cluster_domain

    def is_master_role(self, specs: Mapping[str, Body], replica_type: str, *, index: int) -> bool:
        """Chief or Master pods when one exists, else worker 0."""
        if has_chief(specs):
            return replica_type in CHIEF_ROLES
        return replica_type == WORKER and index == 0

    def set_cluster_spec(self, job: Body, pod: Body, *, replica_type: str, index: int) -> None:
        """TF_CONFIG into the first `tensorflow` container, and only for a distributed job."""
        if not is_distributed(replicas.replica_specs(job, KIND)):
            return
        value = tf_config(job, replica_type, index=index, cluster_domain=self.cluster_domain)
        for container in pod["spec"].get("containers") or []:
            if container.get("name") == KIND.container:
                container["env"] = [*(container.get("env") or []), {"name": TF_CONFIG, "value": value}]
                return

    def update_job_status(self, job: Body, status: conditions.Status, *, now: datetime, recorder: Recorder) -> None:
        """Upstream `UpdateJobStatus`: types in the order Chief, Evaluator, Master, PS, Worker; the
        chief (else the workers) decides Running and Succeeded; any failed replica fails the job
        unless the job is already restarting (or, with dynamic workers, it is a worker)."""
        specs = replicas.replica_specs(job, KIND)
        worker_zero_done = is_worker_zero_completed(self._owned_pods(job))
        for replica_type in (t for t in KIND.replica_types if t in specs):
            counters = conditions.replicas_of(status, replica_type)
            remaining = int(specs[replica_type]["replicas"]) - conditions.count(counters, "succeeded")
            active = conditions.count(counters, "active")
            if has_chief(specs) and replica_type in CHIEF_ROLES:
                if active > 0:
                    self._running(job, status, now=now)
                if remaining == 0:
                    self._succeeded(job, status, now=now, recorder=recorder)
            elif not has_chief(specs) and replica_type == WORKER:
                all_workers = job["spec"].get("successPolicy") == ALL_WORKERS
                if remaining == 0 or (worker_zero_done and not all_workers):
                    self._succeeded(job, status, now=now, recorder=recorder)
                elif active > 0:
                    self._running(job, status, now=now)
            failed = conditions.count(counters, "failed")
            if failed > 0:
                self._on_failure(job, status, replica_type=replica_type, failed=failed, now=now, recorder=recorder)

    def _owned_pods(self, job: Body) -> list[Body]:
        """The job's pods as the store holds them now (upstream lists them again for worker 0)."""
        labels = replicas.job_labels(KIND, job["metadata"]["name"])

        def mine(pod: Body) -> bool:
            found = pod["metadata"].get("labels") or {}
            return all(found.get(k) == v for k, v in labels.items()) and podtemplates.is_controlled_by(pod, job)

        return self._store.list(self._pods, job["metadata"]["namespace"], mine, read_only=True)[0]

    @staticmethod
    def _label(job: Body) -> str:
        return f"{job['metadata']['namespace']}/{job['metadata']['name']}"

    def _running(self, job: Body, status: conditions.Status, *, now: datetime) -> None:
        reason, message = conditions.reason(KIND.kind, "Running"), f"TFJob {self._label(job)} is running."
        conditions.set_condition(status, conditions.RUNNING, "True", reason=reason, message=message, now=now)

    def _succeeded(self, job: Body, status: conditions.Status, *, now: datetime, recorder: Recorder) -> None:
        reason = conditions.reason(KIND.kind, "Succeeded")
        message = f"TFJob {self._label(job)} successfully completed."
        recorder.event(job, "Normal", reason, message)
        status.setdefault("completionTime", rfc3339(now))
        conditions.set_condition(status, conditions.SUCCEEDED, "True", reason=reason, message=message, now=now)

    def _on_failure(
        self, job: Body, status: conditions.Status, *, replica_type: str, failed: int, now: datetime, recorder: Recorder
    ) -> None:
        restarting = conditions.condition(status, conditions.RESTARTING)
        if restarting is not None:
            reason, message = str(restarting.get("reason", "")), str(restarting.get("message", ""))
            conditions.set_condition(status, conditions.RESTARTING, "True", reason=reason, message=message, now=now)
            return
        if job["spec"].get("enableDynamicWorker") and replica_type == WORKER:
            return
        reason = conditions.reason(KIND.kind, "Failed")
        message = f"TFJob {self._label(job)} has failed because {failed} {replica_type} replica(s) failed."
        recorder.event(job, "Normal", reason, message)
        status.setdefault("completionTime", rfc3339(now))
        conditions.set_condition(status, conditions.FAILED, "True", reason=reason, message=message, now=now)


class TFJobController:
    """Stands in for the operator's `tfjob-controller`."""

    name = KIND.controller_name

    def __init__(self, store: Store, clock: Clock, *, cluster_domain: str = "") -> None:
        self.jobs = trainingjobs.TrainingJobs(store, clock, framework=TFFramework(store, cluster_domain=cluster_domain))

    def watches(self) -> Sequence[Watched]:
        return self.jobs.watches()

    async def reconcile(self, key: ObjectKey) -> float | None:
        return await self.jobs.reconcile(key)
