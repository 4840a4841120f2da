"""How the Kubeflow training operator writes a job's status, rule for rule.

`kubectl get pytorchjob` shows the type of the *last* condition as its State, scenarios assert on
condition reasons and messages, and dashboards read `replicaStatuses`: all of it comes from a
handful of update rules in the operator (`setCondition` / `filterOutCondition`, the replica
counters, `active -> succeeded` after success). They are kept here, apart from the reconcile
loop, so that the PyTorchJob and TFJob controllers report exactly alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kfval.embedded.clock import rfc3339
from kfval.embedded.types import Body

CREATED = "Created"
RUNNING = "Running"
RESTARTING = "Restarting"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
SUSPENDED = "Suspended"
COUNTERS = ("active", "succeeded", "failed")

Status = dict[str, Any]
"""A job's `status` object as stored (conditions, replicaStatuses, startTime, completionTime)."""


def reason(kind: str, word: str) -> str:
    """`PyTorchJob` + `Running` -> `PyTorchJobRunning` (upstream `NewReason`)."""
    return f"{kind}{word}"


def condition(status: Mapping[str, Any], type_: str) -> dict[str, Any] | None:
    for entry in status.get("conditions") or []:
        if entry.get("type") == type_:
            return dict(entry)
    return None


def is_true(status: Mapping[str, Any], type_: str) -> bool:
    found = condition(status, type_)
    return found is not None and found.get("status") == "True"


def is_finished(status: Mapping[str, Any]) -> bool:
    return is_true(status, SUCCEEDED) or is_true(status, FAILED)


def set_condition(status: Status, type_: str, value: str, *, reason: str, message: str, now: datetime) -> None:
    """Upstream `setCondition`: nothing moves after Failed; same status and reason is no change;
    the condition goes to the end; Running and Restarting exclude each other; Succeeded or
    Failed turn a Running condition False where it stands."""
    if is_true(status, FAILED):
        return
    current = condition(status, type_)
    if current is not None and current.get("status") == value and current.get("reason") == reason:
        return
    moment = rfc3339(now)
    transition = current.get("lastTransitionTime", moment) if current and current.get("status") == value else moment
    kept = []
    for entry in status.get("conditions") or []:
        other = entry.get("type")
        if other == type_ or {other, type_} == {RUNNING, RESTARTING}:
            continue
        flipped = type_ in (SUCCEEDED, FAILED) and other == RUNNING
        kept.append({**entry, "status": "False"} if flipped else entry)
    kept.append(
        {
            "type": type_,
            "status": value,
            "reason": reason,
            "message": message,
            "lastUpdateTime": moment,
            "lastTransitionTime": transition,
        }
    )
    status["conditions"] = kept


def mark_created(status: Status, kind: str, *, name: str, now: datetime) -> None:
    """The Created condition, set once (upstream sets it when the create event arrives)."""
    if condition(status, CREATED) is None:
        set_condition(
            status, CREATED, "True", reason=reason(kind, "Created"), message=f"{kind} {name} is created.", now=now
        )


def reset_replicas(status: Status, replica_type: str) -> dict[str, Any]:
    """A fresh counter set for one replica type: counts are recomputed from the pods on every pass."""
    fresh: dict[str, Any] = {}
    status.setdefault("replicaStatuses", {})[replica_type] = fresh
    return fresh


def replicas_of(status: Status, replica_type: str) -> dict[str, Any]:
    """The counters of one replica type, created empty when the type has none yet."""
    found: dict[str, Any] = status.setdefault("replicaStatuses", {}).setdefault(replica_type, {})
    return found


def count(replicas: dict[str, Any], field: str) -> int:
    return int(replicas.get(field, 0))


def bump(replicas: dict[str, Any], field: str) -> None:
    replicas[field] = count(replicas, field) + 1


def count_pod(replicas: dict[str, Any], pod: Body) -> None:
    """Upstream `updateJobReplicaStatuses`: Pending pods are not counted; a Running pod that is
    already being deleted counts as failed."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Running":
        bump(replicas, "failed" if pod["metadata"].get("deletionTimestamp") else "active")
    elif phase == "Succeeded":
        bump(replicas, "succeeded")
    elif phase == "Failed":
        bump(replicas, "failed")


def total_failed(status: Mapping[str, Any]) -> int:
    return sum(count(dict(r), "failed") for r in (status.get("replicaStatuses") or {}).values())


def settle_succeeded(status: Status) -> None:
    """After success every pass moves `active` into `succeeded`, without looking at pods."""
    for replicas in (status.get("replicaStatuses") or {}).values():
        if count(replicas, "active"):
            replicas["succeeded"] = count(replicas, "succeeded") + count(replicas, "active")
            replicas["active"] = 0


def stop_active(status: Status) -> None:
    for replicas in (status.get("replicaStatuses") or {}).values():
        replicas["active"] = 0


def serialized(status: Status) -> Status:
    """The status as the API shows it: zero counters omitted (`omitempty`), so an idle type is `{}`."""
    result = dict(status)
    if "replicaStatuses" in result:
        result["replicaStatuses"] = {
            replica_type: {k: v for k, v in replicas.items() if not (k in COUNTERS and v == 0)}
            for replica_type, replicas in result["replicaStatuses"].items()
        }
    return result
