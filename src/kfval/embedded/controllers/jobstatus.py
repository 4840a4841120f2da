"""The arithmetic of a Job: how many pods it wants, when it has failed, and how it says it finished.

Split from the Job controller as upstream keeps its rules in `job_controller.go`'s pure helpers:
the counts, limits and terminal conditions here are what `kubectl wait --for=condition=complete`,
kstatus and the Kubeflow training operator's own Job-watching logic read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kfval.embedded.clock import parse_rfc3339
from kfval.embedded.controllers.podtemplates import set_condition
from kfval.embedded.types import Body

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
DEFAULT_BACKOFF_LIMIT = 6
MAX_BACKOFF_SECONDS = 360.0
BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")


@dataclass(frozen=True)
class Failure:
    """Why a Job is failing: the FailureTarget/Failed reason and message."""

    reason: str
    message: str


def spec_int(job: Body, field: str, default: int | None) -> int | None:
    value = job["spec"].get(field)
    return default if value is None else int(value)


def is_indexed(job: Body) -> bool:
    return job["spec"].get("completionMode") == "Indexed" and job["spec"].get("completions") is not None


def is_suspended(job: Body) -> bool:
    return bool(job["spec"].get("suspend"))


def finished_condition(job: Body) -> str | None:
    """ "Complete" or "Failed" once the Job is over, else None."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return str(condition["type"])
    return None


def has_condition(status: dict[str, Any], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in status.get("conditions") or [])


def completion_index(pod: Body) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(COMPLETION_INDEX)
    return int(value) if value is not None and str(value).isdigit() else None


def parse_indexes(text: str | None) -> set[int]:
    """`1,3-5,7` -> {1, 3, 4, 5, 7} (status.completedIndexes)."""
    result: set[int] = set()
    for part in (text or "").split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            result.update(range(int(first), int(last) + 1))
        elif part.strip():
            result.add(int(part))
    return result


def format_indexes(indexes: set[int]) -> str:
    """{1, 3, 4, 5, 7} -> `1,3-5,7`: runs of three or more are compressed, as upstream does."""
    ordered, parts = sorted(indexes), []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{ordered[start]}-{ordered[end]}")
        else:
            parts.extend(str(i) for i in ordered[start : end + 1])
        start = end + 1
    return ",".join(parts)


def wanted_active(job: Body, succeeded: int, active: int) -> int:
    """How many pods should be running now (upstream manageJob)."""
    parallelism = spec_int(job, "parallelism", 1) or 0
    completions = spec_int(job, "completions", None)
    if completions is None:
        return active if succeeded > 0 else parallelism
    return max(0, min(completions - succeeded, parallelism))


def is_complete(job: Body, succeeded: int, active: int) -> bool:
    completions = spec_int(job, "completions", None)
    if completions is None:
        return succeeded > 0 and active == 0
    return succeeded >= completions and active == 0


def restarts_exceed_limit(job: Body, pods: list[Body]) -> bool:
    """restartPolicy OnFailure: container restarts in running pods count toward backoffLimit."""
    template_spec = (job["spec"].get("template") or {}).get("spec") or {}
    if template_spec.get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase", "Pending") in ("Pending", "Running"):
            for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                restarts += int(container.get("restartCount", 0))
    limit = spec_int(job, "backoffLimit", DEFAULT_BACKOFF_LIMIT) or 0
    return restarts > 0 if limit == 0 else restarts >= limit


def failure(job: Body, status: dict[str, Any], pods: list[Body], now: datetime) -> Failure | None:
    """The reason the Job fails now, if it does (backoff limit first, then the active deadline)."""
    limit = spec_int(job, "backoffLimit", DEFAULT_BACKOFF_LIMIT) or 0
    if int(status.get("failed", 0)) > limit or restarts_exceed_limit(job, pods):
        return Failure(*BACKOFF_LIMIT_EXCEEDED)
    if deadline_wait(job, status, now) == 0.0:
        return Failure(*DEADLINE_EXCEEDED)
    return None


def deadline_wait(job: Body, status: dict[str, Any], now: datetime) -> float | None:
    """Seconds left before activeDeadlineSeconds (0 once passed), None when there is no deadline."""
    deadline = spec_int(job, "activeDeadlineSeconds", None)
    if deadline is None or not status.get("startTime") or is_suspended(job):
        return None
    elapsed = (now - parse_rfc3339(status["startTime"])).total_seconds()
    return max(0.0, deadline - elapsed)


def backoff_seconds(base_seconds: float, failures: int) -> float:
    """The pause before replacing a failed pod: base, doubled per failure, capped at six minutes."""
    if failures <= 0 or base_seconds <= 0:
        return 0.0
    return float(min(MAX_BACKOFF_SECONDS, base_seconds * 2.0 ** (failures - 1)))


def with_condition(status: dict[str, Any], type_: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    """Append (or update) a True condition with Job timestamps (lastProbeTime, lastTransitionTime)."""
    conditions = set_condition(
        list(status.get("conditions") or []),
        type_,
        "True",
        reason=reason,
        message=message,
        now=now,
        stamp="lastProbeTime",
    )
    return {**status, "conditions": conditions}


def suspension(status: dict[str, Any], *, suspended: bool, now: datetime) -> dict[str, Any]:
    """The Suspended condition: True while suspended, False ("JobResumed") once it ran again."""
    conditions = list(status.get("conditions") or [])
    present = any(c.get("type") == "Suspended" for c in conditions)
    if suspended:
        conditions = set_condition(
            conditions,
            "Suspended",
            "True",
            reason="JobSuspended",
            message="Job suspended",
            now=now,
            stamp="lastProbeTime",
        )
    elif present:
        conditions = set_condition(
            conditions,
            "Suspended",
            "False",
            reason="JobResumed",
            message="Job resumed",
            now=now,
            stamp="lastProbeTime",
        )
    return {**status, "conditions": conditions} if conditions else status
