"""Wall time for the embedded cluster, behind a seam so tests can freeze it.

The only module that reads the system clock: timestamps in objects, ages in tables and
back-off delays all come from a :class:`Clock`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    """Tells the time; `monotonic` for durations, `now` for timestamps written into objects."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def rfc3339(moment: datetime) -> str:
    """Seconds-precision RFC 3339 in UTC, as Kubernetes writes `metav1.Time`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(moment: datetime) -> str:
    """Microsecond RFC 3339, as Kubernetes writes `metav1.MicroTime` (events, leases)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(moment: datetime) -> str:
    """Go's RFC3339Nano in UTC (trailing zeros of the fraction dropped), as CRI log lines carry it."""
    utc = moment.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def unix_nanos(moment: datetime) -> int:
    """Nanoseconds since the Unix epoch, exact (no float rounding); event names are built from it."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def parse_rfc3339(text: str) -> datetime:
    """Read a timestamp written by :func:`rfc3339` or :func:`rfc3339_micro`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def humanize_age(seconds: float) -> str:
    """kubectl's short duration (`5s`, `3m`, `2d`) for Table cells, which kubectl prints verbatim."""
    secs = max(0, int(seconds))
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"
