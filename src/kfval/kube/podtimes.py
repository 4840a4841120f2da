"""How long a scenario's pods really ran: the union of their containers' running intervals.

It lets a run tell the time spent training apart from the time the suite spends around it (creating,
waiting, cleaning up), which bench/suite_overhead.py reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def intervals(pods: Iterable[Mapping[str, Any]], *, now: datetime) -> list[tuple[datetime, datetime]]:
    """(start, end) of every container run the pods report, the current ones ending `now`."""
    found = []
    for pod in pods:
        status = pod.get("status") or {}
        for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
            for state in (container.get("state") or {}, container.get("lastState") or {}):
                running, terminated = state.get("running") or {}, state.get("terminated") or {}
                start = _time(running.get("startedAt") or terminated.get("startedAt"))
                end = _time(terminated.get("finishedAt")) or (now if running else None)
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
