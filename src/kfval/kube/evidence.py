"""What a QA engineer needs to see when a step fails, gathered after the fact from the cluster.

A failed wait or assertion is only useful with its context: how the job's conditions moved, what
each pod and container was doing, the namespace's recent events, and the last lines each container
printed. This module reads all of that in one pass and renders it as plain text for report
embeddings (and as JSON for tools). It runs after a failure, so it never raises for an object that
is missing or unreadable: it records "not found" or the read error in the evidence instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kfval.kube import errors
from kfval.kube.client import Body, Connection

T = TypeVar("T")


MAX_EVENTS = 30


@dataclass(frozen=True)
class ConditionRecord:
    type: str
    status: str
    reason: str
    message: str
    last_transition_time: str


@dataclass(frozen=True)
class JobRecord:
    api_version: str
    kind: str
    name: str
    found: bool
    conditions: tuple[ConditionRecord, ...] = ()
    replica_statuses: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ContainerRecord:
    name: str
    state: str
    restarts: int
    ready: bool
    log_tail: str


@dataclass(frozen=True)
class PodRecord:
    name: str
    phase: str
    conditions: str
    containers: tuple[ContainerRecord, ...]


@dataclass(frozen=True)
class EventRecord:
    time: str
    type: str
    reason: str
    involved: str
    message: str
    count: int


@dataclass(frozen=True)
class Evidence:
    """The state of one namespace's workload at the moment something went wrong."""

    namespace: str
    job: JobRecord | None
    pods: tuple[PodRecord, ...]
    events: tuple[EventRecord, ...]
    problems: tuple[str, ...]
    tail_lines: int

    def render(self) -> str:
        lines = [f'Evidence from namespace "{self.namespace}"']
        if self.job is not None:
            lines += _render_job(self.job)
        lines.append(f"Pods ({len(self.pods)}):" if self.pods else "Pods: none found")
        for pod in self.pods:
            lines.append(f"  {pod.name}: phase {pod.phase}; {pod.conditions}")
            lines += [
                f"    container {c.name}: {c.state}; restarts {c.restarts}; ready {c.ready}" for c in pod.containers
            ]
        lines.append(f"Events (last {len(self.events)}):" if self.events else "Events: none")
        lines += [f"  {event_line(event)}" for event in self.events]
        for pod in self.pods:
            for container in pod.containers:
                lines.append(f"--- log of {pod.name}/{container.name} (last {self.tail_lines} lines) ---")
                lines.append(container.log_tail or "(empty)")
        if self.problems:
            lines.append("Could not read:")
            lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


def _render_job(job: JobRecord) -> list[str]:
    title = f'{job.kind} "{job.name}" ({job.api_version})'
    if not job.found:
        return [f"{title}: not found"]
    lines = [f"{title}, conditions in the order they changed:"]
    lines += [
        f"  {c.last_transition_time or '?'}  {c.type}={c.status}  {c.reason}: {c.message}".rstrip(": ")
        for c in job.conditions
    ] or ["  (no conditions yet)"]
    if job.replica_statuses:
        lines.append(f"  replicaStatuses: {dict(job.replica_statuses)}")
    return lines


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def collect(
    conn: Connection,
    namespace: str,
    *,
    job: tuple[str, str, str] | None = None,
    label_selector: str | None = None,
    tail_lines: int = 40,
) -> Evidence:
    """Read the evidence for `job` (api_version, kind, name) and the pods it or `label_selector` selects.

    Without either, every pod of the namespace is included.
    """
    problems: list[str] = []
    job_record = _job(conn, namespace, job=job, problems=problems) if job else None
    pods = _read(
        problems,
        f'pods in namespace "{namespace}"',
        request=lambda: conn.list("v1", "Pod", namespace, label_selector=label_selector),
    )
    items = [pod for pod in (pods or {}).get("items") or [] if not job or label_selector or _owned(pod, job)]
    items.sort(key=lambda pod: str(pod["metadata"]["name"]))
    records = tuple(
        _pod_record(conn, pod, namespace=namespace, tail_lines=tail_lines, problems=problems) for pod in items
    )
    listed = _read(problems, f'events in namespace "{namespace}"', request=lambda: conn.list("v1", "Event", namespace))
    events = sorted((listed or {}).get("items") or [], key=event_order)[-MAX_EVENTS:]
    return Evidence(namespace, job_record, records, tuple(map(event_record, events)), tuple(problems), tail_lines)


def _read(problems: list[str], what: str, *, request: Callable[[], T]) -> T | None:
    try:
        return request()
    except errors.NotFoundError:
        problems.append(f"{what}: not found")
    except errors.KfvalError as error:
        problems.append(f"{what}: {error}")
    return None


def _job(conn: Connection, namespace: str, *, job: tuple[str, str, str], problems: list[str]) -> JobRecord:
    api_version, kind, name = job
    try:
        body = conn.get(api_version, kind, name, namespace)
    except errors.NotFoundError:
        return JobRecord(api_version, kind, name, found=False)
    except errors.KfvalError as error:
        problems.append(f'{kind} "{name}": {error}')
        return JobRecord(api_version, kind, name, found=False)
    status = body.get("status") or {}
    conditions = sorted(status.get("conditions") or [], key=lambda c: str(c.get("lastTransitionTime") or ""))
    records = tuple(
        ConditionRecord(
            type=str(c.get("type", "")),
            status=str(c.get("status", "")),
            reason=str(c.get("reason") or ""),
            message=str(c.get("message") or ""),
            last_transition_time=str(c.get("lastTransitionTime") or ""),
        )
        for c in conditions
    )
    return JobRecord(api_version, kind, name, True, records, status.get("replicaStatuses"))


def _owned(pod: Body, job: tuple[str, str, str]) -> bool:
    _api_version, kind, name = job
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    return any(owner.get("kind") == kind and owner.get("name") == name for owner in owners)


def _pod_record(conn: Connection, pod: Body, *, namespace: str, tail_lines: int, problems: list[str]) -> PodRecord:
    name = str(pod["metadata"]["name"])
    status = pod.get("status") or {}
    by_name = {
        s.get("name"): s
        for s in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    }
    spec = pod.get("spec") or {}
    containers = []
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        container_status = by_name.get(container["name"]) or {}
        tail = _log_tail(
            conn,
            pod=name,
            namespace=namespace,
            container=container["name"],
            status=container_status,
            tail_lines=tail_lines,
            problems=problems,
        )
        containers.append(
            ContainerRecord(
                name=str(container["name"]),
                state=container_state(container_status),
                restarts=int(container_status.get("restartCount") or 0),
                ready=bool(container_status.get("ready")),
                log_tail=tail,
            )
        )
    return PodRecord(name, str(status.get("phase") or "<absent>"), pod_conditions(pod), tuple(containers))


def _log_tail(
    conn: Connection,
    *,
    pod: str,
    namespace: str,
    container: str,
    status: Mapping[str, Any],
    tail_lines: int,
    problems: list[str],
) -> str:
    """The last lines of a container's log; of its previous run while it waits to restart."""
    state = status.get("state") or {}
    restarted = int(status.get("restartCount") or 0) > 0
    if not state.get("running") and not state.get("terminated") and not restarted:
        return "(not started)"
    text = _read(
        problems,
        f"log of {pod}/{container}",
        request=lambda: conn.pod_log(
            pod, namespace, container=container, tail_lines=tail_lines, previous=bool(state.get("waiting"))
        ),
    )
    return last_lines(text or "", tail_lines)


def container_state(status: Mapping[str, Any]) -> str:
    """`waiting: ImagePullBackOff: Back-off pulling image "x"`, `running since ...`, `terminated: exit 1 (Error)`."""
    state = status.get("state") or {}
    if state.get("waiting"):
        waiting = state["waiting"]
        return f"waiting: {waiting.get('reason', '')}: {waiting.get('message', '')}".rstrip(": ")
    if state.get("running"):
        return f"running since {state['running'].get('startedAt', '?')}"
    if state.get("terminated"):
        ended = state["terminated"]
        reason = f" ({ended['reason']})" if ended.get("reason") else ""
        message = f": {ended['message']}" if ended.get("message") else ""
        return f"terminated: exit code {ended.get('exitCode')}{reason}{message}"
    return "no status yet"


def pod_conditions(body: Body) -> str:
    """`PodScheduled=True, Ready=False (ContainersNotReady)`: the conditions as `kubectl describe` lists them."""
    conditions = (body.get("status") or {}).get("conditions") or []
    parts = [
        f"{c.get('type')}={c.get('status')}" + (f" ({c['reason']})" if c.get("reason") else "") for c in conditions
    ]
    return ", ".join(parts) if parts else "no conditions"


def describe_state(body: Body) -> str:
    """One line for the last state seen of any object: phase, conditions and container states."""
    status = body.get("status") or {}
    parts = [f"phase {status['phase']}"] if status.get("phase") else []
    parts.append(pod_conditions(body))
    for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        restarts = int(container.get("restartCount") or 0)
        suffix = f" after {restarts} restarts" if restarts else ""
        parts.append(f"container {container.get('name')} {container_state(container)}{suffix}")
    return "; ".join(parts)


def event_time(event: Body) -> str:
    """The latest time an event was seen; RFC 3339 strings of one server sort as times do."""
    meta = event.get("metadata") or {}
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or meta.get("creationTimestamp")
        or ""
    )


def event_order(event: Body) -> tuple[str, int]:
    """Oldest first; within one second (timestamps have no finer grain) by the order the server stored them."""
    version = str((event.get("metadata") or {}).get("resourceVersion") or "")
    return event_time(event), int(version) if version.isdigit() else 0


def event_record(event: Body) -> EventRecord:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    return EventRecord(
        time=event_time(event),
        type=str(event.get("type") or ""),
        reason=str(event.get("reason") or ""),
        involved=f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        message=str(event.get("message") or event.get("note") or ""),
        count=int(event.get("count") or 1),
    )


def event_line(event: EventRecord) -> str:
    repeated = f" (x{event.count})" if event.count > 1 else ""
    return f"{event.time}  {event.type}  {event.reason}  {event.involved}: {event.message}{repeated}"


def object_events(conn: Connection, namespace: str | None, *, name: str, limit: int) -> list[EventRecord]:
    """The last events about the object `name`, oldest first; empty when they cannot be read."""
    try:
        listed = conn.list("v1", "Event", namespace, field_selector=f"involvedObject.name={name}")
    except errors.ClusterError:
        return []
    return [event_record(event) for event in sorted(listed.get("items") or [], key=event_order)[-limit:]]


def last_lines(text: str, n: int) -> str:
    """The last `n` lines of `text` (a trailing newline does not count as an empty last line)."""
    if n <= 0:
        return ""
    return "\n".join(text.splitlines()[-n:])
