"""The Job controller: runs pods to completion and says, in upstream's words, how the Job ended.

Kubeflow's examples, the suite's own smoke workloads and Helm hooks are Jobs; `kubectl wait
--for=condition=complete` and kstatus read the conditions written here (SuccessCriteriaMet then
Complete, or FailureTarget then Failed, as Kubernetes 1.32 writes them). Pods are counted once
each, in memory: the cluster's store lives exactly as long as this controller, so the upstream
tracking finalizer is not needed to survive restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.controllers import jobstatus, podtemplates
from kfval.embedded.controllers.reactor import Watched, is_being_deleted, owner_keys
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.naming import generate_suffix
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceKey

COMPONENT = "job-controller"
DEFAULT_BACKOFF_BASE_SECONDS = 10.0


class JobController:
    """Creates a Job's pods within parallelism/completions, counts their outcomes, finishes the Job."""

    name = COMPONENT

    def __init__(
        self, store: Store, clock: Clock, *, backoff_base_seconds: float = DEFAULT_BACKOFF_BASE_SECONDS
    ) -> None:
        self._store = store
        self._clock = clock
        self._backoff_base = backoff_base_seconds
        self._recorder = Recorder(store, clock, COMPONENT)
        self._jobs = store.catalog.lookup("batch", "v1", "jobs")
        self._pods = store.catalog.lookup("", "v1", "pods")
        self._counted: dict[str, set[str]] = {}
        self._released: set[str] = set()
        self._last_failure: dict[str, datetime] = {}

    def watches(self) -> Sequence[Watched]:
        return [
            Watched("batch", "v1", "jobs"),
            Watched("", "v1", "pods", owner_keys(ResourceKey("batch", "jobs"), "Job")),
        ]

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            job = self._store.get(self._jobs, key.namespace, key.name)
        except NotFoundError:
            return None
        uid = job["metadata"]["uid"]
        if jobstatus.finished_condition(job) or is_being_deleted(job):
            self._counted.pop(uid, None)
            self._last_failure.pop(uid, None)
            return None
        now = self._clock.now()
        pods = self._owned_pods(job)
        status = self._count(job, pods, now)
        active = [p for p in pods if podtemplates.is_active(p)]
        failure = jobstatus.failure(job, status, pods, now)
        requeue = None
        if failure is not None or jobstatus.has_condition(status, "FailureTarget"):
            status = self._fail(job, status, active, failure, now)
        elif jobstatus.is_complete(job, int(status.get("succeeded", 0)), len(active)):
            status = self._complete(job, status, now)
        else:
            status, requeue = self._manage(job, status, active, now)
        self._write_status(job, status)
        return requeue

    def _owned_pods(self, job: Body) -> list[Body]:
        pods, _ = self._store.list(
            self._pods, job["metadata"]["namespace"], lambda p: podtemplates.is_controlled_by(p, job)
        )
        return pods

    def _count(self, job: Body, pods: list[Body], now: datetime) -> dict[str, Any]:
        """Add newly finished pods to succeeded/failed (each pod once) and stamp startTime."""
        status: dict[str, Any] = dict(job.get("status") or {})
        uid = job["metadata"]["uid"]
        if uid not in self._counted:
            started = bool(status.get("startTime"))
            self._counted[uid] = {p["metadata"]["uid"] for p in pods if started and podtemplates.is_finished(p)}
        seen = self._counted[uid]
        fresh = [p for p in pods if p["metadata"]["uid"] not in seen]
        succeeded = [p for p in fresh if (p.get("status") or {}).get("phase") == "Succeeded"]
        failed = [
            p
            for p in fresh
            if p not in succeeded
            and p["metadata"]["uid"] not in self._released
            and ((p.get("status") or {}).get("phase") == "Failed" or podtemplates.is_terminating(p))
        ]
        seen.update(p["metadata"]["uid"] for p in (*succeeded, *failed))
        if failed:
            self._last_failure[uid] = now
        status["failed"] = int(status.get("failed", 0)) + len(failed)
        if jobstatus.is_indexed(job):
            completions = int(job["spec"]["completions"])
            done = jobstatus.parse_indexes(status.get("completedIndexes"))
            done.update(i for p in succeeded if (i := jobstatus.completion_index(p)) is not None and i < completions)
            status["completedIndexes"], status["succeeded"] = jobstatus.format_indexes(done), len(done)
        else:
            status["succeeded"] = int(status.get("succeeded", 0)) + len(succeeded)
        if not status.get("startTime") and not jobstatus.is_suspended(job):
            status["startTime"] = rfc3339(now)
        return status

    def _fail(
        self, job: Body, status: dict[str, Any], active: list[Body], failure: jobstatus.Failure | None, now: datetime
    ) -> dict[str, Any]:
        """FailureTarget first; active pods are deleted (and count as failed); Failed once none terminate."""
        target = next((c for c in status.get("conditions") or [] if c.get("type") == "FailureTarget"), None)
        if target is None and failure is not None:
            status = jobstatus.with_condition(status, "FailureTarget", failure.reason, failure.message, now)
            target = {"reason": failure.reason, "message": failure.message}
        assert target is not None
        seen = self._counted[job["metadata"]["uid"]]
        for pod in active:
            self._delete_pod(job, pod)
            seen.add(pod["metadata"]["uid"])
        status["failed"] = int(status.get("failed", 0)) + len(active)
        if any(podtemplates.is_terminating(p) and not podtemplates.is_finished(p) for p in self._owned_pods(job)):
            return status
        self._recorder.event(job, "Warning", target["reason"], target["message"])
        return jobstatus.with_condition(status, "Failed", target["reason"], target["message"], now)

    def _complete(self, job: Body, status: dict[str, Any], now: datetime) -> dict[str, Any]:
        reason, message = jobstatus.COMPLETIONS_REACHED
        status = jobstatus.with_condition(status, "SuccessCriteriaMet", reason, message, now)
        status = jobstatus.with_condition(status, "Complete", reason, message, now)
        status["completionTime"] = rfc3339(now)
        self._recorder.event(job, "Normal", "Completed", "Job completed")
        return status

    def _manage(
        self, job: Body, status: dict[str, Any], active: list[Body], now: datetime
    ) -> tuple[dict[str, Any], float | None]:
        """Suspend, resume, or bring the number of running pods to what parallelism and completions allow."""
        was_suspended = jobstatus.has_condition(status, "Suspended")
        if jobstatus.is_suspended(job):
            for pod in active:
                self._released.add(pod["metadata"]["uid"])
                self._delete_pod(job, pod)
            if not was_suspended:
                self._recorder.event(job, "Normal", "Suspended", "Job suspended")
            return jobstatus.suspension(status, suspended=True, now=now), None
        if was_suspended:
            self._recorder.event(job, "Normal", "Resumed", "Job resumed")
            status = {**jobstatus.suspension(status, suspended=False, now=now), "startTime": rfc3339(now)}
        want = jobstatus.wanted_active(job, int(status.get("succeeded", 0)), len(active))
        for pod in sorted(active, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)[want:]:
            self._released.add(pod["metadata"]["uid"])
            self._delete_pod(job, pod)
        requeue = jobstatus.deadline_wait(job, status, now)
        if len(active) < want:
            wait = self._backoff_wait(job, status, now)
            if wait > 0:
                return status, min(wait, requeue if requeue is not None else wait)
            for index in self._indexes_to_start(job, status, active, want - len(active)):
                self._create_pod(job, index)
        return status, requeue

    def _backoff_wait(self, job: Body, status: dict[str, Any], now: datetime) -> float:
        last = self._last_failure.get(job["metadata"]["uid"])
        if last is None:
            return 0.0
        delay = jobstatus.backoff_seconds(self._backoff_base, int(status.get("failed", 0)))
        return max(0.0, (last + timedelta(seconds=delay) - now).total_seconds())

    def _indexes_to_start(self, job: Body, status: dict[str, Any], active: list[Body], count: int) -> list[int | None]:
        if not jobstatus.is_indexed(job):
            return [None] * count
        taken = jobstatus.parse_indexes(status.get("completedIndexes"))
        taken.update(i for p in active if (i := jobstatus.completion_index(p)) is not None)
        free = [i for i in range(int(job["spec"]["completions"])) if i not in taken]
        return list(free[:count])

    def _create_pod(self, job: Body, index: int | None) -> None:
        job_name, uid = job["metadata"]["name"], job["metadata"]["uid"]
        prefix = f"{job_name}-{index}-" if index is not None else f"{job_name}-"
        name = prefix + generate_suffix()
        labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": job_name,
            "controller-uid": uid,
            "job-name": job_name,
        }
        annotations = {}
        if index is not None:
            labels[jobstatus.COMPLETION_INDEX] = annotations[jobstatus.COMPLETION_INDEX] = str(index)
        template = job["spec"].get("template") or {}
        pod = podtemplates.pod_from_template(template, job, name=name, labels=labels, annotations=annotations)
        pod["metadata"]["generateName"] = prefix
        if index is not None:
            pod["spec"].setdefault("hostname", f"{job_name}-{index}")
            _add_index_env(pod["spec"])
        self._store.create(self._pods, pod)
        self._recorder.event(job, "Normal", "SuccessfulCreate", f"Created pod: {name}")

    def _delete_pod(self, job: Body, pod: Body) -> None:
        name = pod["metadata"]["name"]
        try:
            self._store.delete(self._pods, pod["metadata"]["namespace"], name)
        except NotFoundError:
            return
        self._recorder.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")

    def _write_status(self, job: Body, status: dict[str, Any]) -> None:
        pods = self._owned_pods(job)
        active = [p for p in pods if podtemplates.is_active(p)]
        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if podtemplates.is_ready(p))
        status["terminating"] = sum(
            1 for p in pods if podtemplates.is_terminating(p) and not podtemplates.is_finished(p)
        )
        status["uncountedTerminatedPods"] = {}
        status = podtemplates.omit_zero(status, "active", "succeeded", "failed")
        if status != job.get("status"):
            self._store.replace(self._jobs, {**job, "status": status}, subresource="status")


def _add_index_env(spec: dict[str, Any]) -> None:
    """JOB_COMPLETION_INDEX from the pod's annotation, in every container, as upstream injects it."""
    source = {"fieldRef": {"fieldPath": f"metadata.annotations['{jobstatus.COMPLETION_INDEX}']"}}
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        env = [e for e in container.get("env") or [] if e.get("name") != "JOB_COMPLETION_INDEX"]
        container["env"] = [*env, {"name": "JOB_COMPLETION_INDEX", "valueFrom": source}]
