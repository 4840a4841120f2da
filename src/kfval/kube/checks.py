"""The states a step waits for, as pure judgements over the objects a watch has seen.

A wait (waiting.py) re-runs one check on every change it sees. Keeping the judgement pure lets the
rules that decide "done", "still waiting" and "can never succeed" be tested without a cluster, and
keeps the wait's own work per event tiny. A check also says what is still unmet as field-path
differences (`status.phase: want Running, have Pending`), so a timeout can explain itself.

Pods that can never succeed are found by `pod_failure`: container configuration errors at once, image
pulls that keep failing past a grace, a crash loop the restart policy will not get out of, a Failed phase, or a pod
left Unschedulable for longer than a grace. Pods that a job controls are judged more leniently: the
job's backoffLimit decides whether a crashed or failed pod is retried, and the job's own Failed
condition ends the wait when it is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kfval.kube.client import Body

UNSCHEDULABLE_GRACE_SECONDS = 60.0
CRASH_LOOP_RESTARTS = 3
ABSENT = "<absent>"

IMAGE_PULL_GRACE_SECONDS = 60.0
"""How long a pod may fail to pull before the wait gives up on it (radish.ini `timeouts.image_pull`): a
registry can hiccup on a real cluster, and the kubelet retries with back-off."""
NEVER_STARTING_REASONS = frozenset({"InvalidImageName", "CreateContainerConfigError", "CreateContainerError"})
"""Waiting reasons no retry of the kubelet gets out of: the pod's own spec is wrong."""
IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff"})
JOB_OWNER_KINDS = frozenset({"Job", "PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob", "JAXJob"})
"""Controllers with a backoffLimit of their own: they, not the pod, decide whether a crash is final."""


@dataclass(frozen=True)
class Verdict:
    """One judgement of the objects seen so far.

    `failure` is set when the state can no longer be reached; `unmet` lists what is still missing
    as field-path differences, one line per object and field.
    """

    done: bool
    failure: str | None
    waiting_for: str
    unmet: tuple[str, ...] = ()


Check = Callable[[Mapping[str, Body]], Verdict]
PodJudge = Callable[[Body], list[str]]


def difference(path: str, *, want: object, have: object) -> str:
    """`status.phase: want Running, have Pending`; a missing value reads `<absent>`."""
    return f"{path}: want {want}, have {ABSENT if have is None else have}"


def condition(body: Body, type_: str) -> Body | None:
    """The object's condition of this type, whatever its status."""
    for entry in (body.get("status") or {}).get("conditions") or []:
        if entry.get("type") == type_:
            return dict(entry)
    return None


def true_condition(body: Body, type_: str) -> Body | None:
    """The object's condition of this type if its status is True (a job's Succeeded, a pod's Ready)."""
    found = condition(body, type_)
    return found if found is not None and found.get("status") == "True" else None


def _name(body: Body) -> str:
    return str((body.get("metadata") or {}).get("name", "?"))


def _label(body: Body, default_kind: str = "pod") -> str:
    kind = body.get("kind") or default_kind
    return f"{'pod' if kind == 'Pod' else kind} {_name(body)}"


# -- pods ----------------------------------------------------------------------------------------


def pods_in_phase(
    phases: Iterable[str], count: int, *, image_pull_grace_seconds: float = IMAGE_PULL_GRACE_SECONDS
) -> Check:
    """At least `count` pods in one of `phases`; a pod outside them that can never get there fails the wait."""
    wanted = tuple(phases)
    shown = " or ".join(wanted)

    def judge(pod: Body) -> list[str]:
        phase = (pod.get("status") or {}).get("phase")
        return [] if phase in wanted else [difference("status.phase", want=shown, have=phase)]

    waiting_for = f"{count} pod(s) in phase {shown}"
    return _count_pods(judge, count=count, waiting_for=waiting_for, image_pull_grace_seconds=image_pull_grace_seconds)


def pods_completed(count: int, *, image_pull_grace_seconds: float = IMAGE_PULL_GRACE_SECONDS) -> Check:
    """At least `count` pods in phase Succeeded (every container exited 0)."""

    def judge(pod: Body) -> list[str]:
        phase = (pod.get("status") or {}).get("phase")
        return [] if phase == "Succeeded" else [difference("status.phase", want="Succeeded", have=phase)]

    waiting_for = f"{count} pod(s) Succeeded"
    return _count_pods(judge, count=count, waiting_for=waiting_for, image_pull_grace_seconds=image_pull_grace_seconds)


def _count_pods(judge: PodJudge, *, count: int, waiting_for: str, image_pull_grace_seconds: float) -> Check:
    def check(objects: Mapping[str, Body]) -> Verdict:
        unmet: list[str] = []
        satisfied = 0
        failure: str | None = None
        for name in sorted(objects):
            pod = objects[name]
            missing = judge(pod)
            if not missing:
                satisfied += 1
                continue
            unmet += [f"pod {name}: {line}" for line in missing]
            failure = failure or pod_failure(pod, image_pull_grace_seconds=image_pull_grace_seconds)
        if satisfied >= count:
            return Verdict(done=True, failure=None, waiting_for=waiting_for)
        if len(objects) < count:
            unmet.insert(0, difference("pods", want=f"at least {count}", have=len(objects)))
        return Verdict(done=False, failure=failure, waiting_for=waiting_for, unmet=tuple(unmet))

    return check


def pod_failure(
    pod: Body,
    *,
    now: datetime | None = None,
    unschedulable_grace_seconds: float = UNSCHEDULABLE_GRACE_SECONDS,
    crash_loop_restarts: int = CRASH_LOOP_RESTARTS,
    image_pull_grace_seconds: float = IMAGE_PULL_GRACE_SECONDS,
) -> str | None:
    """Why `pod` can never succeed, in a QA engineer's words; None while it still can."""
    name = _name(pod)
    now = now or datetime.now(UTC)
    status = pod.get("status") or {}
    statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    for container in statuses:
        never = _never_starts(pod, container, now=now, image_pull_grace_seconds=image_pull_grace_seconds)
        if never:
            return f"pod {name} cannot start: {never}"
    unschedulable = _unschedulable(pod, now=now, grace=unschedulable_grace_seconds)
    if unschedulable or _owned_by_job(pod):
        return unschedulable
    if status.get("phase") == "Failed":
        return f"pod {name} failed" + _failed_detail(status, statuses)
    for container in statuses:
        crashing = _crash_loop(name, container, restarts=crash_loop_restarts)
        if crashing:
            return crashing
    if (pod.get("spec") or {}).get("restartPolicy") == "Never":
        return _exited_for_good(name, statuses)
    return None


def _never_starts(
    pod: Body, container: Mapping[str, Any], *, now: datetime, image_pull_grace_seconds: float
) -> str | None:
    """A container's waiting reason that ends the wait: a wrong spec at once, a failing pull past its grace."""
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason, message = waiting.get("reason"), str(waiting.get("message") or "")
    why = f"{reason}: {message}".rstrip(": ")
    if reason in NEVER_STARTING_REASONS:
        return f"container {container.get('name')}: {why}"
    if reason not in IMAGE_PULL_REASONS:
        return None
    since = parse_time((pod.get("status") or {}).get("startTime")) or parse_time(
        (pod.get("metadata") or {}).get("creationTimestamp")
    )
    pulling = (now - since).total_seconds() if since else 0.0
    if pulling < image_pull_grace_seconds:
        return None
    image = container.get("image") or "?"  # the kubelet reports the spec's image for a container it cannot pull
    return f'container {container.get("name")} cannot pull image "{image}" (for {pulling:.0f} s): {why}'


def _failed_detail(status: Mapping[str, Any], statuses: list[Mapping[str, Any]]) -> str:
    parts = [f"{status['reason']}: {status.get('message', '')}".rstrip(": ")] if status.get("reason") else []
    for container in statuses:
        terminated = (container.get("state") or {}).get("terminated") or {}
        if terminated.get("exitCode"):
            parts.append(_exit_text(container.get("name"), terminated))
    return ": " + "; ".join(parts) if parts else ""


def _exit_text(container: object, terminated: Mapping[str, Any]) -> str:
    reason = f" ({terminated['reason']})" if terminated.get("reason") else ""
    return f"container {container} exited with code {terminated.get('exitCode')}{reason}"


def _crash_loop(name: str, container: Mapping[str, Any], *, restarts: int) -> str | None:
    waiting = (container.get("state") or {}).get("waiting") or {}
    count = int(container.get("restartCount") or 0)
    if waiting.get("reason") != "CrashLoopBackOff" or count < restarts:
        return None
    last = (container.get("lastState") or {}).get("terminated") or {}
    cause = f"; last run: {_exit_text(container.get('name'), last)}" if last else ""
    who = f"container {container.get('name')}"
    return f"pod {name} keeps crashing: {who} is in CrashLoopBackOff after {count} restarts{cause}"


def _exited_for_good(name: str, statuses: list[Mapping[str, Any]]) -> str | None:
    """Under restartPolicy Never a container that exited non-zero makes the pod Failed: say so at once."""
    for container in statuses:
        terminated = (container.get("state") or {}).get("terminated") or {}
        if terminated.get("exitCode"):
            return f"pod {name} failed: {_exit_text(container.get('name'), terminated)} under restartPolicy Never"
    return None


def _unschedulable(pod: Body, *, now: datetime, grace: float) -> str | None:
    scheduled = condition(pod, "PodScheduled")
    if not scheduled or scheduled.get("status") != "False" or scheduled.get("reason") != "Unschedulable":
        return None
    since = parse_time(scheduled.get("lastTransitionTime"))
    waited = (now - since).total_seconds() if since else 0.0
    if waited < grace:
        return None
    return f"pod {_name(pod)} cannot be scheduled: {scheduled.get('message', '')} (Unschedulable for {waited:.0f} s)"


def _owned_by_job(pod: Body) -> bool:
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    return any(owner.get("controller") and owner.get("kind") in JOB_OWNER_KINDS for owner in owners)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp as the API server writes it; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- jobs and deletion ---------------------------------------------------------------------------


def job_finished(
    success_condition: str = "Succeeded", failure_condition: str = "Failed", *, failure_fails_wait: bool = True
) -> Check:
    """Every matching job has `success_condition` True; a job with `failure_condition` True fails the wait,
    or, with `failure_fails_wait=False`, counts as finished too (for a caller that judges it afterwards).

    Training jobs (PyTorchJob, TFJob) finish with Succeeded or Failed; pass "Complete" for a batch Job.
    While waiting, `unmet` names each job's missing condition as a field path and what the job has
    instead (its latest condition), so a timeout says what is still unmet.
    """
    wanted = success_condition if failure_fails_wait else f"{success_condition}|{failure_condition}"
    waiting_for = f"the job to finish ({wanted} True)"
    path = f"status.conditions[type={wanted}].status"

    def check(objects: Mapping[str, Body]) -> Verdict:
        if not objects:
            return Verdict(False, None, waiting_for, (difference("jobs", want="at least 1", have=0),))
        unmet: list[str] = []
        for name in sorted(objects):
            job = objects[name]
            failed = true_condition(job, failure_condition)
            if failed is not None and failure_fails_wait:
                why = f"{failed.get('reason', '')}: {failed.get('message', '')}".strip(": ")
                return Verdict(False, f"{_label(job, 'job')} failed: {why or failure_condition}", waiting_for)
            if failed is None and true_condition(job, success_condition) is None:
                have = _latest_condition(job)
                unmet.append(f"{_label(job, 'job')}: {difference(path, want='True', have=have)}")
        return Verdict(not unmet, None, waiting_for, tuple(unmet))

    return check


def _latest_condition(job: Body) -> str | None:
    """`Running=True` for a job whose last condition is Running: what it has instead of finishing."""
    conditions = (job.get("status") or {}).get("conditions") or []
    if not conditions:
        return None
    last = conditions[-1]
    return f"{last.get('type')}={last.get('status')}"


def gone() -> Check:
    """No matching object is left (deletion, including finalizers, is complete)."""

    def check(objects: Mapping[str, Body]) -> Verdict:
        unmet = []
        for name in sorted(objects):
            deleting = (objects[name].get("metadata") or {}).get("deletionTimestamp")
            have = f"present (deleting since {deleting})" if deleting else "present"
            unmet.append(f"{_label(objects[name], 'object')}: {difference('metadata', want='absent', have=have)}")
        return Verdict(not objects, None, "the objects to be deleted", tuple(unmet))

    return check
