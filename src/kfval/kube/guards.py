"""What else ends a wait on a workload: its pods that can never start, and its controller's refusal to
create them.

A wait on a job (PyTorchJob, TFJob, a batch Job) watches the job, whose status does not change while
its pods sit in ImagePullBackOff or while an admission webhook refuses them: the job would be waited
for until the training timeout. A guard is asked on every state the wait sees (at least every
watch span, so a grace still expires) and names the first reason the workload can never run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kfval.kube import checks
from kfval.kube.client import Connection

Guard = Callable[[], str | None]


def create_refusal(conn: Connection, namespace: str, *, kinds: Iterable[str], name: str) -> str | None:
    """The controller's last `FailedCreate*` event on the object (`FailedCreatePod` of the training operator,
    `FailedCreate` of the Job and StatefulSet controllers): an admission refusal of its pods."""
    wanted = set(kinds)
    events = conn.list("v1", "Event", namespace, field_selector=f"involvedObject.name={name}")["items"]
    refusals = [
        event
        for event in events
        if str(event.get("reason", "")).startswith("FailedCreate")
        and (event.get("involvedObject") or {}).get("kind") in wanted
    ]
    if not refusals:
        return None
    last = max(refusals, key=lambda event: str(event.get("lastTimestamp") or event.get("eventTime") or ""))
    return f"{last.get('reason')}: {last.get('message', '')}"


def workload(
    conn: Connection, namespace: str, *, kind: str, name: str, pods: str, image_pull_grace_seconds: float
) -> Guard:
    """A guard for the workload `kind/name` whose pods carry the label selector `pods`."""

    def guard() -> str | None:
        found = conn.list("v1", "Pod", namespace, label_selector=pods)["items"]
        for pod in sorted(found, key=lambda pod: str(pod["metadata"]["name"])):
            failure = checks.pod_failure(pod, image_pull_grace_seconds=image_pull_grace_seconds)
            if failure:
                return failure
        refused = create_refusal(conn, namespace, kinds=(kind,), name=name)
        return f'{kind} "{name}" cannot create its pods: {refused}' if refused else None

    return guard
