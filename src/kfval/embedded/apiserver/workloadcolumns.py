"""The columns `kubectl get` prints for workloads: pods, apps/v1 and batch/v1 kinds.

A pod's STATUS is the cell people read most (ContainerCreating, CrashLoopBackOff, Init:0/1,
Completed, Terminating), and kubectl does not compute it: the server does, walking init
containers, then containers in reverse, as upstream's printPod does. Replica counts, job
COMPLETIONS and DURATION follow the upstream printers the same way. The shared vocabulary
(Column, Printer, NAME, AGE, cell helpers) is in columns.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kfval.embedded.apiserver import columns
from kfval.embedded.clock import humanize_age, parse_rfc3339
from kfval.embedded.types import Body, ResourceKey


def _template_containers(template: Mapping[str, Any] | None) -> tuple[str, str]:
    containers = columns.field(template or {}, "spec", "containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _workload_wide(body: Body, template: Mapping[str, Any] | None = None) -> list[Any]:
    spec = body.get("spec") or {}
    names, images = _template_containers(template if template is not None else spec.get("template"))
    return [names, images, columns.format_selector(spec.get("selector"))]


def _counts(status: Mapping[str, Any], *keys: str) -> list[int]:
    return [int(status.get(k) or 0) for k in keys]


def _deployment(body: Body, now: datetime) -> list[Any]:
    status = body.get("status") or {}
    desired = columns.field(body, "spec", "replicas")
    ready, updated, available = _counts(status, "readyReplicas", "updatedReplicas", "availableReplicas")
    ready_cell = f"{ready}/{1 if desired is None else desired}"
    return [columns.name(body), ready_cell, updated, available, columns.age(body, now), *_workload_wide(body)]


def _replicaset(body: Body, now: datetime) -> list[Any]:
    desired = columns.field(body, "spec", "replicas")
    current, ready = _counts(body.get("status") or {}, "replicas", "readyReplicas")
    return [
        columns.name(body),
        1 if desired is None else desired,
        current,
        ready,
        columns.age(body, now),
        *_workload_wide(body),
    ]


def _statefulset(body: Body, now: datetime) -> list[Any]:
    desired = columns.field(body, "spec", "replicas")
    ready = int(columns.field(body, "status", "readyReplicas") or 0)
    names, images = _template_containers(columns.field(body, "spec", "template"))
    return [columns.name(body), f"{ready}/{1 if desired is None else desired}", columns.age(body, now), names, images]


def _daemonset(body: Body, now: datetime) -> list[Any]:
    status = body.get("status") or {}
    counts = _counts(
        status,
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "numberReady",
        "updatedNumberScheduled",
        "numberAvailable",
    )
    node_selector = columns.format_labels(columns.field(body, "spec", "template", "spec", "nodeSelector"))
    return [columns.name(body), *counts, node_selector, columns.age(body, now), *_workload_wide(body)]


def _job_status(body: Body) -> str:
    conditions = columns.field(body, "status", "conditions")
    if columns.condition_true(conditions, "Complete"):
        return "Complete"
    if columns.condition_true(conditions, "Failed"):
        return "Failed"
    if columns.field(body, "metadata", "deletionTimestamp"):
        return "Terminating"
    for condition in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if columns.condition_true(conditions, condition):
            return condition
    return "Running"


def _job_completions(body: Body) -> str:
    succeeded = int(columns.field(body, "status", "succeeded") or 0)
    completions = columns.field(body, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = int(columns.field(body, "spec", "parallelism") or 0)
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job(body: Body, now: datetime) -> list[Any]:
    start = columns.field(body, "status", "startTime")
    duration = ""
    if start:
        end_text = columns.field(body, "status", "completionTime")
        end = parse_rfc3339(end_text) if end_text else now
        duration = humanize_age((end - parse_rfc3339(start)).total_seconds())
    cells = [columns.name(body), _job_status(body), _job_completions(body), duration, columns.age(body, now)]
    return cells + _workload_wide(body)


def _cronjob(body: Body, now: datetime) -> list[Any]:
    spec = body.get("spec") or {}
    suspend = spec.get("suspend")
    last = columns.field(body, "status", "lastScheduleTime")
    job_spec = columns.field(spec, "jobTemplate", "spec") or {}
    names, images = _template_containers(job_spec.get("template"))
    return [
        columns.name(body),
        spec.get("schedule", ""),
        spec.get("timeZone") or columns.NONE,
        "<unset>" if suspend is None else str(bool(suspend)),
        len(columns.field(body, "status", "active") or []),
        columns.since(last, now) if last else columns.NONE,
        columns.age(body, now),
        names,
        images,
        columns.format_selector(job_spec.get("selector")),
    ]


# -- pods ------------------------------------------------------------------------------------------


def _terminated_reason(terminated: Mapping[str, Any], prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _init_reason(pod: Body) -> str | None:
    """`Init:<reason>` or `Init:N/M` while init containers hold the pod back; None once they are done."""
    init_specs = columns.field(pod, "spec", "initContainers") or []
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    for index, status in enumerate(columns.field(pod, "status", "initContainerStatuses") or []):
        terminated = columns.field(status, "state", "terminated")
        waiting_reason = columns.field(status, "state", "waiting", "reason")
        if terminated and not terminated.get("exitCode"):
            continue
        if status.get("name") in sidecars and status.get("started"):
            continue
        if terminated:
            return _terminated_reason(terminated, "Init:")
        if waiting_reason and waiting_reason != "PodInitializing":
            return f"Init:{waiting_reason}"
        return f"Init:{index}/{len(init_specs)}"
    return None


def _containers_reason(pod: Body, reason: str) -> str:
    """The last container's waiting/terminated reason wins, as kubectl walks them in reverse."""
    running = False
    for status in reversed(columns.field(pod, "status", "containerStatuses") or []):
        state = status.get("state") or {}
        waiting_reason = columns.field(state, "waiting", "reason")
        if waiting_reason:
            reason = waiting_reason
        elif state.get("terminated"):
            reason = _terminated_reason(state["terminated"])
        elif status.get("ready") and state.get("running") is not None:
            running = True
    if reason == "Completed" and running:
        return "Running" if columns.condition_true(columns.field(pod, "status", "conditions"), "Ready") else "NotReady"
    return reason


def pod_status(pod: Body) -> str:
    """The STATUS column: phase, or the reason a container waits or ended, or Init:..., or Terminating."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    if any(
        c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in status.get("conditions") or []
    ):
        reason = "SchedulingGated"
    init = _init_reason(pod)
    if init is not None and not columns.condition_true(status.get("conditions"), "Initialized"):
        reason = init
    else:
        reason = _containers_reason(pod, reason)
    if columns.field(pod, "metadata", "deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            return "Unknown"
        if status.get("phase") not in ("Succeeded", "Failed"):
            return "Terminating"
    return str(reason)


def _pod_counts(pod: Body, now: datetime) -> tuple[str, str]:
    """READY (`ready/total`, sidecars included) and RESTARTS (`n (5m ago)`)."""
    sidecars = {
        c.get("name") for c in columns.field(pod, "spec", "initContainers") or [] if c.get("restartPolicy") == "Always"
    }
    statuses = [s for s in columns.field(pod, "status", "initContainerStatuses") or [] if s.get("name") in sidecars]
    ready = sum(1 for s in statuses if s.get("ready") and s.get("started"))
    if _init_reason(pod) is not None:
        statuses = list(columns.field(pod, "status", "initContainerStatuses") or [])
    containers = columns.field(pod, "status", "containerStatuses") or []
    statuses += containers
    ready += sum(1 for s in containers if s.get("ready") and columns.field(s, "state", "running") is not None)
    total = len(columns.field(pod, "spec", "containers") or []) + len(sidecars)
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    finished = [f for s in statuses if (f := columns.field(s, "lastState", "terminated", "finishedAt"))]
    restarts_cell = f"{restarts} ({columns.since(max(finished), now)} ago)" if restarts and finished else str(restarts)
    return f"{ready}/{total}", restarts_cell


def _readiness_gates(pod: Body) -> str:
    gates = columns.field(pod, "spec", "readinessGates") or []
    if not gates:
        return columns.NONE
    conditions = columns.field(pod, "status", "conditions")
    passed = sum(1 for g in gates if columns.condition_true(conditions, g.get("conditionType", "")))
    return f"{passed}/{len(gates)}"


def _pod(pod: Body, now: datetime) -> list[Any]:
    ready, restarts = _pod_counts(pod, now)
    status = pod.get("status") or {}
    return [
        columns.name(pod),
        ready,
        pod_status(pod),
        restarts,
        columns.age(pod, now),
        status.get("podIP") or columns.NONE,
        columns.field(pod, "spec", "nodeName") or columns.NONE,
        status.get("nominatedNodeName") or columns.NONE,
        _readiness_gates(pod),
    ]


WORKLOAD_PRINTERS: dict[ResourceKey, columns.Printer] = {
    ResourceKey("apps", "deployments"): columns.Printer(
        (
            columns.NAME,
            columns.Column("Ready", "Number of the pod with ready state"),
            columns.integer("Up-to-date", "Total number of non-terminated pods targeted by this deployment."),
            columns.integer("Available", "Total number of available pods targeted by this deployment."),
            columns.AGE,
            columns.CONTAINERS,
            columns.IMAGES,
            columns.SELECTOR,
        ),
        _deployment,
    ),
    ResourceKey("apps", "replicasets"): columns.Printer(
        (
            columns.NAME,
            columns.integer("Desired", "Number of desired pods."),
            columns.integer("Current", "Number of actual replicas."),
            columns.integer("Ready", "The number of ready replicas for this replica set."),
            columns.AGE,
            columns.CONTAINERS,
            columns.IMAGES,
            columns.SELECTOR,
        ),
        _replicaset,
    ),
    ResourceKey("apps", "statefulsets"): columns.Printer(
        (
            columns.NAME,
            columns.Column("Ready", "Number of the pod with ready state"),
            columns.AGE,
            columns.CONTAINERS,
            columns.IMAGES,
        ),
        _statefulset,
    ),
    ResourceKey("apps", "daemonsets"): columns.Printer(
        (
            columns.NAME,
            columns.integer("Desired", "The total number of nodes that should be running the daemon pod."),
            columns.integer("Current", "The number of nodes running at least one daemon pod."),
            columns.integer("Ready", "The number of nodes running the daemon pod and ready."),
            columns.integer("Up-to-date", "The number of nodes running the updated daemon pod."),
            columns.integer("Available", "The number of nodes running the daemon pod and available."),
            columns.Column("Node Selector", "The node selector of the pod template."),
            columns.AGE,
            columns.CONTAINERS,
            columns.IMAGES,
            columns.SELECTOR,
        ),
        _daemonset,
    ),
    ResourceKey("", "pods"): columns.Printer(
        (
            columns.NAME,
            columns.Column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
            columns.Column("Status", "The aggregate status of the containers in this pod."),
            columns.Column("Restarts", "The number of times the containers in this pod have been restarted."),
            columns.AGE,
            columns.wide("IP", "IP address allocated to the pod."),
            columns.wide("Node", "NodeName is the node this pod is scheduled onto."),
            columns.wide("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods."),
            columns.wide("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness."),
        ),
        _pod,
    ),
    ResourceKey("batch", "jobs"): columns.Printer(
        (
            columns.NAME,
            columns.Column("Status", "Status of the job."),
            columns.Column(
                "Completions", "The desired number of successfully finished pods the job should be run with."
            ),
            columns.Column("Duration", "Time required to complete the job."),
            columns.AGE,
            columns.CONTAINERS,
            columns.IMAGES,
            columns.SELECTOR,
        ),
        _job,
    ),
    ResourceKey("batch", "cronjobs"): columns.Printer(
        (
            columns.NAME,
            columns.Column("Schedule", "The schedule in Cron format."),
            columns.Column("Timezone", "The time zone columns.name for the given schedule."),
            columns.Column("Suspend", "Whether subsequent executions are suspended."),
            columns.integer("Active", "A list of pointers to currently running jobs."),
            columns.Column("Last Schedule", "Information when was the last time the job was successfully scheduled."),
            columns.AGE,
            columns.CONTAINERS,
            columns.IMAGES,
            columns.SELECTOR,
        ),
        _cronjob,
    ),
}
