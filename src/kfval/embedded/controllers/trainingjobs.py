"""The reconcile loop the Kubeflow training operator runs for every job kind (upstream `ReconcileJobs`).

PyTorchJob and TFJob differ only in the cluster spec they inject into pods (env, init containers,
TF_CONFIG), in who is the "master", and in when a job counts as Succeeded or Failed. Everything
else is common code upstream and common code here: creating one pod and one headless Service per
replica, restart policies, cleanPodPolicy, backoffLimit, activeDeadlineSeconds,
ttlSecondsAfterFinished, suspend/resume, replica counters and events. A kind plugs in as a
:class:`Framework`; its controller module only wires the two together.

Like upstream, defaults are applied to an in-memory copy and only `status` is ever written. The
deadline is checked only when an event triggers a reconcile (upstream requeues it into a no-op
queue), while the TTL timer is honoured by asking to be reconciled again. As in v1.9, a job whose
`runPolicy.managedBy` hands it to MultiKueue is not touched at all: no conditions, no pods.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from kfval.embedded.clock import Clock, parse_rfc3339, rfc3339
from kfval.embedded.controllers import podtemplates
from kfval.embedded.controllers import trainingreplicas as replicas
from kfval.embedded.controllers import trainingstatus as conditions
from kfval.embedded.controllers.reactor import Watched, is_being_deleted, owner_keys
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import ApiError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceKey, ResourceType

log = logging.getLogger(__name__)

RESTART_COUNTING_POLICIES = ("OnFailure", "Always", "ExitCode")
TEMPLATE_POLICY_MESSAGE = "Restart policy in pod template will be overwritten by restart policy in replica spec"


class Framework(Protocol):
    """What one job kind adds to the common loop (upstream's per-kind `ControllerInterface`)."""

    kind: replicas.JobKind

    def is_master_role(self, specs: Mapping[str, Body], replica_type: str, *, index: int) -> bool:
        """Whether the pod gets the `job-role: master` label."""
        ...

    def set_cluster_spec(self, job: Body, pod: Body, *, replica_type: str, index: int) -> None:
        """Inject the kind's env and init containers into a new pod; raise ApiError to retry later."""
        ...

    def update_job_status(self, job: Body, status: conditions.Status, *, now: datetime, recorder: Recorder) -> None:
        """Turn the fresh replica counters into Running / Restarting / Succeeded / Failed."""
        ...


class TrainingJobs:
    """Reconciles the jobs of one kind: the common half of a training operator controller."""

    def __init__(self, store: Store, clock: Clock, *, framework: Framework) -> None:
        self._store = store
        self._clock = clock
        self.framework = framework
        self.kind = framework.kind
        self.recorder = Recorder(store, clock, self.kind.controller_name)
        self._pods = store.catalog.lookup("", "v1", "pods")
        self._services = store.catalog.lookup("", "v1", "services")

    def watches(self) -> Sequence[Watched]:
        owner = owner_keys(ResourceKey(replicas.GROUP, self.kind.resource), self.kind.kind)
        return [
            Watched(replicas.GROUP, replicas.VERSION, self.kind.resource),
            Watched("", "v1", "pods", owner),
            Watched("", "v1", "services", owner),
        ]

    async def reconcile(self, key: ObjectKey) -> float | None:
        jobs = self._store.catalog.lookup(replicas.GROUP, replicas.VERSION, self.kind.resource)
        try:
            stored = self._store.get(jobs, key.namespace, key.name)
        except NotFoundError:
            return None
        if is_being_deleted(stored) or not replicas.is_managed_here(stored):
            return None
        job = replicas.defaulted(stored, self.kind)
        status: conditions.Status = copy.deepcopy(stored.get("status") or {})
        now = self._clock.now()
        conditions.mark_created(status, self.kind.kind, name=key.name, now=now)
        pods, services = self._owned(self._pods, job), self._owned(self._services, job)
        if conditions.is_finished(status):
            self._clean_up(job, pods, policy=replicas.run_policy(job)["cleanPodPolicy"])
            if conditions.is_true(status, conditions.SUCCEEDED):
                conditions.settle_succeeded(status)
        elif replicas.run_policy(job).get("suspend"):
            self._suspend(job, status, pods=pods, now=now)
        else:
            self._run(job, status, pods=pods, services=services, now=now)
        wait = self._ttl_wait(job, status, now=now)
        if wait == 0.0:
            self._delete_job(jobs, job)
            return None
        self._save(jobs, stored, status=status)
        return wait

    def _owned(self, rt: ResourceType, job: Body) -> list[Body]:
        labels = replicas.job_labels(self.kind, job["metadata"]["name"])

        def mine(body: Body) -> bool:
            found = body["metadata"].get("labels") or {}
            return all(found.get(k) == v for k, v in labels.items()) and podtemplates.is_controlled_by(body, job)

        items, _ = self._store.list(rt, job["metadata"]["namespace"], mine)
        return items

    def _run(
        self, job: Body, status: conditions.Status, *, pods: list[Body], services: list[Body], now: datetime
    ) -> None:
        name = job["metadata"]["name"]
        if conditions.is_true(status, conditions.SUSPENDED):
            message = f"{self.kind.kind} {name} is resumed."
            reason = conditions.reason(self.kind.kind, "Resumed")
            conditions.set_condition(status, conditions.SUSPENDED, "False", reason=reason, message=message, now=now)
            status["startTime"] = rfc3339(now)
            self.recorder.event(job, "Normal", reason, message)
        failure = self._limit_failure(job, status, pods=pods, now=now)
        if failure is not None:
            status.setdefault("completionTime", rfc3339(now))
            self._clean_up(job, pods, policy="All")
            reason = conditions.reason(self.kind.kind, "Failed")
            self.recorder.event(job, "Normal", reason, failure)
            conditions.set_condition(status, conditions.FAILED, "True", reason=reason, message=failure, now=now)
            return
        self._record_abnormal(job, [p for p in pods if podtemplates.is_active(p)])
        for replica_type, spec in self._ordered_specs(job):
            self._reconcile_pods(job, status, pods=pods, replica_type=replica_type, spec=spec, now=now)
            self._reconcile_services(job, services, replica_type=replica_type, spec=spec)
        status.setdefault("startTime", rfc3339(now))
        self.framework.update_job_status(job, status, now=now, recorder=self.recorder)

    def _ordered_specs(self, job: Body) -> list[tuple[str, Body]]:
        specs = replicas.replica_specs(job, self.kind)
        order = [t for t in self.kind.replica_types if t in specs] + [
            t for t in specs if t not in self.kind.replica_types
        ]
        return [(t, specs[t]) for t in order]

    def _suspend(self, job: Body, status: conditions.Status, *, pods: list[Body], now: datetime) -> None:
        self._clean_up(job, pods, policy="All")
        conditions.stop_active(status)
        message = f"{self.kind.kind} {job['metadata']['name']} is suspended."
        reason = conditions.reason(self.kind.kind, "Suspended")
        if conditions.is_true(status, conditions.RUNNING):
            conditions.set_condition(status, conditions.RUNNING, "False", reason=reason, message=message, now=now)
        if not conditions.is_true(status, conditions.SUSPENDED):
            conditions.set_condition(status, conditions.SUSPENDED, "True", reason=reason, message=message, now=now)
        self.recorder.event(job, "Normal", reason, message)

    def _limit_failure(self, job: Body, status: conditions.Status, *, pods: list[Body], now: datetime) -> str | None:
        """The message of a backoffLimit or activeDeadlineSeconds failure, None while within both."""
        policy, name = replicas.run_policy(job), job["metadata"]["name"]
        limit = policy.get("backoffLimit")
        if limit is not None and self._past_backoff_limit(job, status, pods=pods, limit=int(limit)):
            return f"Job {name} has failed because it has reached the specified backoff limit"
        deadline = policy.get("activeDeadlineSeconds")
        started = status.get("startTime")
        if deadline is not None and started and (now - parse_rfc3339(started)).total_seconds() >= int(deadline):
            return f"Job {name} has failed because it was active longer than specified deadline"
        return None

    def _past_backoff_limit(self, job: Body, status: conditions.Status, *, pods: list[Body], limit: int) -> bool:
        """Upstream's two checks: a new pod failure (fires only at limit 0, its requeue count is always
        0) and container restarts of Running pods whose replicas restart."""
        specs = replicas.replica_specs(job, self.kind)
        active = sum(1 for p in pods if podtemplates.is_active(p))
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        total = sum(int(spec["replicas"]) for spec in specs.values())
        if failed > conditions.total_failed(status) and active != total and limit < 1:
            return True
        restarts = 0
        for replica_type, spec in specs.items():
            if spec.get("restartPolicy") not in RESTART_COUNTING_POLICIES:
                continue
            for pod in replicas.of_type(pods, replica_type):
                pod_status = pod.get("status") or {}
                if pod_status.get("phase") == "Running":
                    statuses = (pod_status.get("initContainerStatuses") or []) + (
                        pod_status.get("containerStatuses") or []
                    )
                    restarts += sum(int(s.get("restartCount", 0)) for s in statuses)
        return restarts > 0 if limit == 0 else restarts >= limit

    def _reconcile_pods(
        self, job: Body, status: conditions.Status, *, pods: list[Body], replica_type: str, spec: Body, now: datetime
    ) -> None:
        """Create missing replicas, delete surplus ones, retry or fail Failed ones, count the rest."""
        counters = conditions.reset_replicas(status, replica_type)
        wanted, name = int(spec["replicas"]), job["metadata"]["name"]
        for index, group in enumerate(replicas.slices(replicas.of_type(pods, replica_type), wanted)):
            if len(group) > 1:
                log.warning("%s %s: too many pods for %s %d", self.kind.kind, name, replica_type, index)
                continue
            if not group:
                self._create_pod(job, replica_type, index=index)
                continue
            pod = group[0]
            if index >= wanted:
                self._delete(self._pods, job, body=pod, word="Pod")
            code = replicas.exit_code(pod, self.kind)
            if code is not None:
                where = f"{pod['metadata']['namespace']}.{pod['metadata']['name']}"
                self.recorder.event(job, "Normal", "ExitedWithCode", f"Pod: {where} exited with code {code}")
            if (pod.get("status") or {}).get("phase") == "Failed":
                self._handle_failed(job, status, pod=pod, replica_type=replica_type, spec=spec, code=code, now=now)
            conditions.count_pod(counters, pod)

    def _handle_failed(
        self,
        job: Body,
        status: conditions.Status,
        *,
        pod: Body,
        replica_type: str,
        spec: Body,
        code: int | None,
        now: datetime,
    ) -> None:
        policy, name, kind = str(spec.get("restartPolicy")), job["metadata"]["name"], self.kind.kind
        if replicas.is_retryable(policy, code):
            self._delete(self._pods, job, body=pod, word="Pod")
            message = f"job {name} is restarting because {replica_type} replica(s) failed."
            reason = conditions.reason(kind, "Restarting")
            self.recorder.event(job, "Warning", reason, message)
            conditions.set_condition(status, conditions.RESTARTING, "True", reason=reason, message=message, now=now)
        elif policy == "ExitCode":
            message = f'job "{name}" is failing because "{replica_type}" replica(s) failed.'
            reason = conditions.reason(kind, "Failed")
            self.recorder.event(job, "Warning", reason, message)
            conditions.set_condition(status, conditions.FAILED, "True", reason=reason, message=message, now=now)

    def _create_pod(self, job: Body, replica_type: str, *, index: int) -> None:
        specs = replicas.replica_specs(job, self.kind)
        master_role = self.framework.is_master_role(specs, replica_type, index=index)
        pod = replicas.new_pod(job, self.kind, replica_type=replica_type, index=index, master_role=master_role)
        self.framework.set_cluster_spec(job, pod, replica_type=replica_type, index=index)
        if ((specs[replica_type].get("template") or {}).get("spec") or {}).get("restartPolicy"):
            self.recorder.event(job, "Warning", "SetPodTemplateRestartPolicy", TEMPLATE_POLICY_MESSAGE)
        self._create(self._pods, job, body=pod, word="Pod")

    def _reconcile_services(self, job: Body, services: list[Body], *, replica_type: str, spec: Body) -> None:
        wanted = int(spec["replicas"])
        for index, group in enumerate(replicas.slices(replicas.of_type(services, replica_type), wanted)):
            if not group:
                self._create(
                    self._services,
                    job,
                    body=replicas.new_service(job, self.kind, replica_type=replica_type, index=index),
                    word="Service",
                )
            elif len(group) == 1 and index >= wanted:
                self._delete(self._services, job, body=group[0], word="Service")

    def _create(self, rt: ResourceType, job: Body, *, body: Body, word: str) -> None:
        try:
            self._store.create(rt, body)
        except ApiError as error:
            self.recorder.event(job, "Warning", f"FailedCreate{word}", f"Error creating: {error.message}")
            raise
        self.recorder.event(
            job, "Normal", f"SuccessfulCreate{word}", f"Created {word.lower()}: {body['metadata']['name']}"
        )

    def _delete(self, rt: ResourceType, job: Body, *, body: Body, word: str) -> None:
        """Delete one pod or Service; one already terminating is left alone, as upstream does."""
        if podtemplates.is_terminating(body):
            return
        name = body["metadata"]["name"]
        try:
            self._store.delete(rt, body["metadata"]["namespace"], name)
        except NotFoundError:
            return
        self.recorder.event(job, "Normal", f"SuccessfulDelete{word}", f"Deleted {word.lower()}: {name}")

    def _clean_up(self, job: Body, pods: list[Body], *, policy: str) -> None:
        """cleanPodPolicy: `Running` takes Running and Pending pods, `All` every pod; each pod's
        Service of the same name goes with it."""
        if policy not in ("Running", "All"):
            return
        services = {s["metadata"]["name"]: s for s in self._owned(self._services, job)}
        for pod in pods:
            if policy == "Running" and (pod.get("status") or {}).get("phase", "Pending") not in ("Running", "Pending"):
                continue
            self._delete(self._pods, job, body=pod, word="Pod")
            service = services.get(pod["metadata"]["name"])
            if service is not None:
                self._delete(self._services, job, body=service, word="Service")

    def _record_abnormal(self, job: Body, pods: list[Body]) -> None:
        """Warnings that name why an active pod is stuck, re-using the pod's own reasons."""
        for pod in pods:
            name, status = pod["metadata"]["name"], pod.get("status") or {}
            statuses = status.get("containerStatuses") or status.get("initContainerStatuses") or []
            for entry in statuses:
                state = entry.get("state") or {}
                ended, waiting = state.get("terminated") or {}, state.get("waiting") or {}
                if int(ended.get("exitCode", 0)) != 0:
                    detail = f"exitCode: {ended['exitCode']} terminated message: {ended.get('message', '')}"
                    self.recorder.event(
                        job, "Warning", ended.get("reason", ""), f"Error pod {name} container {entry['name']} {detail}"
                    )
                if waiting.get("message"):
                    detail = f"waiting message: {waiting['message']}"
                    self.recorder.event(
                        job,
                        "Warning",
                        waiting.get("reason", ""),
                        f"Error pod {name} container {entry['name']} {detail}",
                    )
            for condition in [] if statuses else status.get("conditions") or []:
                if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                    message = f"Error pod {name} condition message: {condition.get('message', '')}"
                    self.recorder.event(job, "Warning", condition.get("reason", ""), message)

    def _ttl_wait(self, job: Body, status: conditions.Status, *, now: datetime) -> float | None:
        """Seconds until ttlSecondsAfterFinished deletes a finished job (0.0: now), None without a timer.

        A job failed without a completionTime (the ExitCode path) is never deleted, as upstream
        keeps failing its cleanup with "job completion time is nil"."""
        ttl = replicas.run_policy(job).get("ttlSecondsAfterFinished")
        if ttl is None or not conditions.is_finished(status) or not status.get("completionTime"):
            return None
        expiry = parse_rfc3339(status["completionTime"]) + timedelta(seconds=int(ttl))
        return max(0.0, (expiry - now).total_seconds())

    def _delete_job(self, jobs: ResourceType, job: Body) -> None:
        name = job["metadata"]["name"]
        try:
            self._store.delete(jobs, job["metadata"]["namespace"], name)
        except NotFoundError:
            return
        self.recorder.event(job, "Normal", self.kind.job_deleted_reason, f"Deleted job: {name}")

    def _save(self, jobs: ResourceType, stored: Body, *, status: conditions.Status) -> None:
        final = conditions.serialized(status)
        if final != (stored.get("status") or {}):
            self._store.replace(jobs, {**stored, "status": final}, subresource="status")
