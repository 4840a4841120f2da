"""The kubelet's resource summary, as metrics-server scrapes it: CPU as a rate over a window, memory now.

metrics-server turns two cumulative CPU readings into a rate and reports the window between them.
Here every scrape is such a reading: the rate is taken against the newest earlier reading at least
`MIN_WINDOW_SECONDS` old (so a client that polls every few seconds gets windows that tile its
polling interval, and their sum is the CPU time used), or, for a container read for the first
time, against its start (the process's start time in the kernel's boot clock). The readings
themselves come from `accounting.py`.
"""

from __future__ import annotations

import collections
from pathlib import Path

from kfval.embedded.clock import Clock
from kfval.embedded.kubelet import accounting, processes
from kfval.embedded.kubelet.pods import Kubelet
from kfval.embedded.types import ContainerUsage, NodeUsage, PodUsage

MIN_WINDOW_SECONDS = 1.0
KEPT_READINGS = 64
NANOSECONDS_PER_SECOND = 1_000_000_000
Reading = tuple[float, int]
"""(monotonic seconds, cumulative CPU nanoseconds)."""


class Readings:
    """Cumulative CPU readings of one measured thing, and rates between them."""

    def __init__(self) -> None:
        self._history: collections.deque[Reading] = collections.deque(maxlen=KEPT_READINGS)

    def rate(self, now: float, cpu_nanoseconds: int, *, started_seconds_ago: float) -> tuple[int, float]:
        """(nanocores, window seconds) up to `now`, and remember this reading."""
        earlier = [reading for reading in self._history if now - reading[0] >= MIN_WINDOW_SECONDS]
        reference: Reading = earlier[-1] if earlier else (now - started_seconds_ago, 0)
        self._history.append((now, cpu_nanoseconds))
        window = max(now - reference[0], 1e-3)
        used = max(cpu_nanoseconds - reference[1], 0)
        return int(used / window), window


def seconds_since_start(pid: int) -> float:
    """How long ago `pid` started, on the kernel's boot clock (as /proc counts a process's start)."""
    started = processes.process_start_time(pid) or 0
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return max(uptime - started / accounting.CLOCK_TICKS_PER_SECOND, 0.0)


class ResourceSummary:
    """Serves `metrics.k8s.io` usage for the pods and the node of one kubelet."""

    def __init__(self, kubelet: Kubelet, clock: Clock) -> None:
        self._kubelet = kubelet
        self._clock = clock
        self._containers: dict[tuple[str, int], Readings] = {}
        self._node = Readings()

    def pods(self) -> list[PodUsage]:
        table = accounting.process_table()
        now, timestamp = self._clock.monotonic(), self._clock.now()
        seen, found = set(), []
        for pod, pids in self._kubelet.running_pods():
            meta = pod["metadata"]
            containers, windows = [], []
            for name, pid in sorted(pids.items()):
                usage = accounting.tree_usage(pid, table)
                key = (str(meta["uid"]), pid)
                seen.add(key)
                readings = self._containers.setdefault(key, Readings())
                nanocores, window = readings.rate(
                    now, usage.cpu_nanoseconds, started_seconds_ago=seconds_since_start(pid)
                )
                containers.append(ContainerUsage(name, nanocores, usage.memory_bytes))
                windows.append(window)
            found.append(
                PodUsage(
                    namespace=str(meta.get("namespace", "")),
                    name=str(meta["name"]),
                    uid=str(meta["uid"]),
                    timestamp=timestamp,
                    window_seconds=max(windows),
                    containers=tuple(containers),
                )
            )
        for key in set(self._containers) - seen:
            del self._containers[key]
        return found

    def node(self) -> NodeUsage:
        usage = accounting.node_usage()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        nanocores, window = self._node.rate(self._clock.monotonic(), usage.cpu_nanoseconds, started_seconds_ago=uptime)
        return NodeUsage(
            name=self._kubelet.node_name,
            timestamp=self._clock.now(),
            window_seconds=window,
            cpu_nanocores=nanocores,
            memory_bytes=usage.memory_bytes,
        )
