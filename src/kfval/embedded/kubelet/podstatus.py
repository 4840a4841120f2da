"""Pod status fields exactly as kubelet 1.32 reports them, as pure functions of what is known.

Clients and kfval's own waiting logic read these fields literally (`kubectl get` derives its STATUS
column from container states, Helm's kstatus reads conditions, the suite reads waiting reasons), so
the shapes, reasons, messages and the phase rules follow the kubelet's `getPhase` and
`status/generate.go` rather than anything invented here. No I/O and no clock: callers pass `now`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kfval.embedded import qos
from kfval.embedded.types import Body

CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"


def waiting(reason: str, message: str = "") -> Body:
    inner: Body = {"reason": reason}
    if message:
        inner["message"] = message
    return {"waiting": inner}


def running(started_at: str) -> Body:
    return {"running": {"startedAt": started_at}}


def exit_reason(exit_code: int, *, oom_killed: bool = False) -> str:
    """The `terminated.reason` a container runtime gives an exit code."""
    if oom_killed:
        return "OOMKilled"
    return "Completed" if exit_code == 0 else "Error"


def terminated(
    exit_code: int,
    *,
    reason: str,
    started_at: str,
    finished_at: str,
    container_id: str,
    message: str = "",
) -> Body:
    inner: Body = {"exitCode": exit_code, "reason": reason}
    if message:
        inner["message"] = message
    inner.update({"startedAt": started_at, "finishedAt": finished_at, "containerID": container_id})
    return {"terminated": inner}


def default_waiting(pod: Body, *, init: bool) -> Body:
    """What a container not yet created reports: PodInitializing behind init containers, else ContainerCreating."""
    if init or (pod.get("spec") or {}).get("initContainers"):
        return waiting(POD_INITIALIZING)
    return waiting(CONTAINER_CREATING)


def volume_mounts(container: Body) -> list[Body]:
    """`containerStatuses[].volumeMounts`, which kubelet 1.30+ reports for every mount."""
    result = []
    for mount in container.get("volumeMounts") or []:
        entry: Body = {"name": mount["name"], "mountPath": mount["mountPath"]}
        if mount.get("readOnly"):
            entry["readOnly"] = True
            entry["recursiveReadOnly"] = "Disabled"
        result.append(entry)
    return result


def container_status(
    container: Body,
    *,
    state: Body,
    last_state: Body | None = None,
    ready: bool = False,
    restart_count: int = 0,
    image: str = "",
    image_id: str = "",
    container_id: str = "",
    started: bool = False,
) -> Body:
    """One `containerStatuses[]` entry, fields in the order the kubelet serializes them."""
    status: Body = {
        "name": container["name"],
        "state": state,
        "lastState": last_state or {},
        "ready": ready,
        "restartCount": restart_count,
        "image": image or container.get("image", ""),
        "imageID": image_id,
    }
    if container_id:
        status["containerID"] = container_id
    status["started"] = started
    mounts = volume_mounts(container)
    if mounts:
        status["volumeMounts"] = mounts
    return status


def _last_exit(status: Mapping[str, Any]) -> int | None:
    last = (status.get("lastState") or {}).get("terminated")
    return None if last is None else int(last.get("exitCode", 0))


def _initialization(init_statuses: Sequence[Body]) -> tuple[int, int]:
    """(pending, failed) init containers, as getPhase counts them."""
    pending = failed = 0
    for status in init_statuses:
        state = status.get("state") or {}
        if "terminated" in state:
            failed += int(state["terminated"].get("exitCode", 0) != 0)
        elif "waiting" in state and (_last_exit(status) or 0) != 0:
            failed += 1
        else:
            pending += 1
    return pending, failed


def pod_phase(pod: Body, init_statuses: Sequence[Body], statuses: Sequence[Body], *, terminal: bool = False) -> str:
    """The kubelet's getPhase: `terminal` when the pod is being shut down and will not restart anything."""
    policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
    pending_init, failed_init = _initialization(init_statuses)
    if failed_init and (policy == "Never" or terminal):
        return "Failed"
    if (pending_init or failed_init) and not terminal:
        return "Pending"
    running_count = waiting_count = stopped = succeeded = 0
    for status in statuses:
        state = status.get("state") or {}
        if "running" in state:
            running_count += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += int(state["terminated"].get("exitCode", 0) == 0)
        elif _last_exit(status) is not None:
            stopped += 1
        else:
            waiting_count += 1
    if terminal:
        return "Succeeded" if stopped and stopped == succeeded and not waiting_count else "Failed"
    if waiting_count:
        return "Pending"
    if running_count:
        return "Running"
    if not stopped:
        return "Pending"
    if policy == "Always":
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    return "Failed" if policy == "Never" else "Running"


def condition(
    type_: str, status: bool, *, now: str, previous: Sequence[Body] = (), reason: str = "", message: str = ""
) -> Body:
    """A pod condition whose lastTransitionTime moves only when its status flips."""
    value = "True" if status else "False"
    transition = now
    for old in previous:
        if old.get("type") == type_ and old.get("status") == value and old.get("lastTransitionTime"):
            transition = old["lastTransitionTime"]
    result: Body = {"type": type_, "status": value, "lastProbeTime": None, "lastTransitionTime": transition}
    if reason:
        result["reason"] = reason
    if message:
        result["message"] = message
    return result


def _names(items: Sequence[str]) -> str:
    return "[" + " ".join(items) + "]"


def _initialized(
    pod: Body, init_statuses: Sequence[Body], statuses: Sequence[Body], phase: str
) -> tuple[bool, str, str]:
    if not (pod.get("spec") or {}).get("initContainers"):
        return True, "", ""
    if phase == "Succeeded":
        return True, "PodCompleted", ""
    if any("waiting" not in (s.get("state") or {}) or _last_exit(s) is not None for s in statuses):
        return True, "", ""
    incomplete = [
        s["name"] for s in init_statuses if ((s.get("state") or {}).get("terminated") or {}).get("exitCode", 1) != 0
    ]
    if incomplete:
        return False, "ContainersNotInitialized", f"containers with incomplete status: {_names(incomplete)}"
    return True, "", ""


def _containers_ready(statuses: Sequence[Body], phase: str) -> tuple[bool, str, str]:
    if phase == "Succeeded":
        return False, "PodCompleted", ""
    if phase == "Failed":
        return False, "PodFailed", ""
    unready = [s["name"] for s in statuses if not s.get("ready")]
    if unready:
        return False, "ContainersNotReady", f"containers with unready status: {_names(unready)}"
    return True, "", ""


def pod_conditions(
    pod: Body,
    *,
    phase: str,
    init_statuses: Sequence[Body],
    statuses: Sequence[Body],
    sandbox_ready: bool,
    now: str,
) -> list[Body]:
    """The five conditions of a pod on a node, in the kubelet's order; PodScheduled is kept from the scheduler."""
    previous = (pod.get("status") or {}).get("conditions") or []
    init_ok, init_reason, init_message = _initialized(pod, init_statuses, statuses, phase)
    ready, ready_reason, ready_message = _containers_ready(statuses, phase)
    scheduled = [c for c in previous if c.get("type") == "PodScheduled"]
    return [
        condition("PodReadyToStartContainers", sandbox_ready, now=now, previous=previous),
        condition("Initialized", init_ok, now=now, previous=previous, reason=init_reason, message=init_message),
        condition("Ready", ready, now=now, previous=previous, reason=ready_reason, message=ready_message),
        condition("ContainersReady", ready, now=now, previous=previous, reason=ready_reason, message=ready_message),
        scheduled[0] if scheduled else condition("PodScheduled", True, now=now),
    ]


def pod_status(
    pod: Body,
    *,
    init_statuses: Sequence[Body],
    statuses: Sequence[Body],
    sandbox_ready: bool,
    host_ip: str,
    pod_ip: str,
    start_time: str,
    now: str,
    terminal: bool = False,
) -> Body:
    """The whole `status` of a pod on this node, keys in the order the kubelet serializes them."""
    phase = pod_phase(pod, init_statuses, statuses, terminal=terminal)
    status: Body = {
        "phase": phase,
        "conditions": pod_conditions(
            pod, phase=phase, init_statuses=init_statuses, statuses=statuses, sandbox_ready=sandbox_ready, now=now
        ),
    }
    if host_ip:
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if start_time:
        status["startTime"] = start_time
    if init_statuses:
        status["initContainerStatuses"] = list(init_statuses)
    status["containerStatuses"] = list(statuses)
    status["qosClass"] = (pod.get("status") or {}).get("qosClass") or qos.qos_class(pod.get("spec") or {})
    return status
