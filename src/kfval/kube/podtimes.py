"""How long a scenario's pods really ran (the union of their containers' running intervals), and when
each pod was in which phase (the report's pod phase timeline).

The running time lets a run tell the time spent training apart from the time the suite spends around it (creating,
waiting, cleaning up), which bench/suite_overhead.py reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def timestamp(text: str | None) -> datetime | None:
    """An API timestamp (RFC 3339, whole seconds) as a datetime; None for none."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def intervals(pods: Iterable[Mapping[str, Any]], *, now: datetime) -> list[tuple[datetime, datetime]]:
    """(start, end) of every container run the pods report, the current ones ending `now`."""
    found = []
    for pod in pods:
        status = pod.get("status") or {}
        for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
            for state in (container.get("state") or {}, container.get("lastState") or {}):
                running, terminated = state.get("running") or {}, state.get("terminated") or {}
                start = timestamp(running.get("startedAt") or terminated.get("startedAt"))
                end = timestamp(terminated.get("finishedAt")) or (now if running else None)
                if start is not None and end is not None and end >= start:
                    found.append((start, end))
    return found


def busy_seconds(spans: Iterable[tuple[datetime, datetime]]) -> float:
    """The length of the union of the intervals (overlapping pods count once)."""
    total = 0.0
    current_start: datetime | None = None
    current_end: datetime | None = None
    for start, end in sorted(spans):
        if current_end is None or start > current_end:
            if current_start is not None and current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_start is not None and current_end is not None:
        total += (current_end - current_start).total_seconds()
    return total


@dataclass(frozen=True)
class PhaseSpan:
    """A stretch of time one pod spent in one phase, as its status tells it afterwards."""

    pod: str
    phase: str
    start: datetime
    end: datetime


def phase_spans(pods: Iterable[Mapping[str, Any]], *, now: datetime) -> list[PhaseSpan]:
    """Each pod's Pending (creation to its first container start), Running (to its last container's end)
    and final phase (Succeeded or Failed, until `now`): the pod phase timeline of a scenario.

    A pod's status keeps no history of its phases, only these timestamps, so the spans are read from
    them; a pod deleted before the scenario ended (clean pod policy) is shown as the caller last saw it.
    """
    found = []
    for pod in pods:
        name = pod["metadata"]["name"]
        created = timestamp(pod["metadata"].get("creationTimestamp"))
        status = pod.get("status") or {}
        phase = status.get("phase") or "Pending"
        states = [
            state
            for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
            for state in (container.get("state") or {}, container.get("lastState") or {})
        ]
        starts = [
            moment
            for state in states
            if (moment := timestamp((state.get("running") or state.get("terminated") or {}).get("startedAt")))
        ]
        ends = [moment for state in states if (moment := timestamp((state.get("terminated") or {}).get("finishedAt")))]
        if created is None:
            continue
        first_start = min(starts) if starts else None
        found.append(PhaseSpan(name, "Pending", created, first_start or now))
        if first_start is None:
            continue
        finished = phase in ("Succeeded", "Failed")
        running_end = max(ends) if finished and ends else now
        found.append(PhaseSpan(name, "Running", first_start, running_end))
        if finished:
            found.append(PhaseSpan(name, phase, running_end, now))
    return found
