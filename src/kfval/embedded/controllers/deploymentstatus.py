"""How a Deployment's rollout is measured: its limits, its counters and its two conditions.

Split from the Deployment controller as upstream splits progress.go from sync.go: these are pure
functions of the Deployment and its ReplicaSets, so the readiness rules that kstatus, Helm and
`kubectl rollout status` depend on can be read (and tested) in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kfval.embedded.clock import parse_rfc3339
from kfval.embedded.controllers.podtemplates import find_condition, omit_zero, set_condition
from kfval.embedded.types import Body

NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
_COUNTERS = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas")


@dataclass(frozen=True)
class Progress:
    """The status to write, and when to look again (the progress deadline is time-driven)."""

    status: dict[str, Any]
    requeue_after: float | None


def scaled_value(value: int | str | None, total: int, *, round_up: bool, default: str = "25%") -> int:
    """An IntOrString (`1` or `"25%"`) resolved against the desired replica count."""
    value = default if value is None else value
    if isinstance(value, int):
        return value
    fraction = float(str(value).rstrip("%")) * total / 100.0
    return math.ceil(fraction) if round_up else math.floor(fraction)


def rollout_limits(deployment: Body) -> tuple[int, int]:
    """(maxSurge, maxUnavailable); Recreate allows neither, and both 0 means 1 unavailable."""
    strategy = deployment["spec"].get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    replicas = replicas_of(deployment)
    surge = scaled_value(rolling.get("maxSurge"), replicas, round_up=True)
    unavailable = scaled_value(rolling.get("maxUnavailable"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def replicas_of(body: Body) -> int:
    replicas = (body.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def counter(body: Body | None, field: str) -> int:
    return int(((body or {}).get("status") or {}).get(field, 0))


def initial_replicas(deployment: Body, olds: list[Body]) -> int:
    """The size a new ReplicaSet starts at: all of it, or what maxSurge leaves room for."""
    replicas = replicas_of(deployment)
    old_total = sum(replicas_of(rs) for rs in olds)
    if old_total == 0:
        return replicas
    if (deployment["spec"].get("strategy") or {}).get("type") == "Recreate":
        return 0
    surge, _ = rollout_limits(deployment)
    return max(0, min(replicas, replicas + surge - old_total))


def calculate(
    deployment: Body, new: Body | None, olds: list[Body], *, now: datetime, created: bool, limits: tuple[int, int]
) -> Progress:
    """The Deployment's status from its ReplicaSets' (upstream calculateStatus + syncRolloutStatus)."""
    every = [rs for rs in (new, *olds) if rs is not None]
    previous = deployment.get("status") or {}
    available = sum(counter(rs, "availableReplicas") for rs in every)
    status: dict[str, Any] = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": sum(counter(rs, "replicas") for rs in every),
        "updatedReplicas": counter(new, "replicas"),
        "readyReplicas": sum(counter(rs, "readyReplicas") for rs in every),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum(replicas_of(rs) for rs in every) - available),
    }
    if "collisionCount" in previous:
        status["collisionCount"] = previous["collisionCount"]
    conditions = list(previous.get("conditions") or [])
    if available >= replicas_of(deployment) - limits[1]:
        conditions = set_condition(
            conditions,
            "Available",
            "True",
            reason="MinimumReplicasAvailable",
            message="Deployment has minimum availability.",
            now=now,
        )
    else:
        conditions = set_condition(
            conditions,
            "Available",
            "False",
            reason="MinimumReplicasUnavailable",
            message="Deployment does not have minimum availability.",
            now=now,
        )
    conditions = _progressing(deployment, new, status, conditions, now=now, created=created)
    status["conditions"] = conditions
    return Progress(omit_zero(status, *_COUNTERS), _deadline_wait(deployment, status, now))


def is_complete(deployment: Body, status: dict[str, Any]) -> bool:
    """All replicas updated and available, none old left (upstream DeploymentComplete)."""
    replicas = replicas_of(deployment)
    return bool(
        status.get("updatedReplicas", 0) == replicas
        and status.get("replicas", 0) == replicas
        and status.get("availableReplicas", 0) == replicas
        and status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1)
    )


def has_progressed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """More pods updated, ready or available, or fewer old pods (upstream DeploymentProgressing)."""
    old_before = before.get("replicas", 0) - before.get("updatedReplicas", 0)
    old_after = after.get("replicas", 0) - after.get("updatedReplicas", 0)
    return bool(
        after.get("updatedReplicas", 0) > before.get("updatedReplicas", 0)
        or after.get("readyReplicas", 0) > before.get("readyReplicas", 0)
        or after.get("availableReplicas", 0) > before.get("availableReplicas", 0)
        or old_after < old_before
    )


def _progressing(
    deployment: Body,
    new: Body | None,
    status: dict[str, Any],
    conditions: list[dict[str, Any]],
    *,
    now: datetime,
    created: bool,
) -> list[dict[str, Any]]:
    spec = deployment["spec"]
    if spec.get("progressDeadlineSeconds") is None:
        return conditions
    conditions = _pause_condition(conditions, paused=bool(spec.get("paused")), now=now)
    if spec.get("paused"):
        return conditions
    if new is None:
        return conditions
    name = new["metadata"]["name"]
    if created:
        conditions = set_condition(
            conditions,
            "Progressing",
            "True",
            reason="NewReplicaSetCreated",
            message=f'Created new replica set "{name}"',
            now=now,
        )
    if is_complete(deployment, status):
        message = f'ReplicaSet "{name}" has successfully progressed.'
        return set_condition(conditions, "Progressing", "True", reason=NEW_RS_AVAILABLE, message=message, now=now)
    if has_progressed(deployment.get("status") or {}, status):
        message = f'ReplicaSet "{name}" is progressing.'
        return set_condition(
            conditions, "Progressing", "True", reason="ReplicaSetUpdated", message=message, now=now, refresh=True
        )
    current = next((c for c in conditions if c.get("type") == "Progressing"), None)
    if _deadline_passed(current, int(spec["progressDeadlineSeconds"]), now):
        message = f'ReplicaSet "{name}" has timed out progressing.'
        return set_condition(conditions, "Progressing", "False", reason=TIMED_OUT, message=message, now=now)
    return conditions


def _pause_condition(conditions: list[dict[str, Any]], *, paused: bool, now: datetime) -> list[dict[str, Any]]:
    """Progressing=Unknown while paused (DeploymentPaused), and once more on resume (DeploymentResumed)."""
    current = next((c for c in conditions if c.get("type") == "Progressing"), None)
    if paused:
        return set_condition(
            conditions, "Progressing", "Unknown", reason=PAUSED, message="Deployment is paused", now=now
        )
    if current is not None and current.get("reason") == PAUSED:
        message = "Deployment is resumed"
        return set_condition(conditions, "Progressing", "Unknown", reason="DeploymentResumed", message=message, now=now)
    return conditions


def _deadline_passed(current: dict[str, Any] | None, deadline_seconds: int, now: datetime) -> bool:
    if current is None or current.get("reason") == NEW_RS_AVAILABLE:
        return False
    if current.get("reason") == TIMED_OUT:
        return True
    stamp = current.get("lastUpdateTime") or current.get("lastTransitionTime")
    return stamp is not None and (now - parse_rfc3339(stamp)).total_seconds() > deadline_seconds


def _deadline_wait(deployment: Body, status: dict[str, Any], now: datetime) -> float | None:
    """Seconds until a rollout in progress would pass its progressDeadlineSeconds."""
    spec = deployment["spec"]
    condition = find_condition({"status": status}, "Progressing")
    if spec.get("paused") or spec.get("progressDeadlineSeconds") is None or condition is None:
        return None
    if condition.get("status") != "True" or condition.get("reason") == NEW_RS_AVAILABLE:
        return None
    since = parse_rfc3339(condition.get("lastUpdateTime") or condition["lastTransitionTime"])
    return max(0.0, int(spec["progressDeadlineSeconds"]) - (now - since).total_seconds()) + 1.0
