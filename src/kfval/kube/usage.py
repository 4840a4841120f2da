"""What each pod of a scenario used, sampled from `metrics.k8s.io` while the scenario runs.

The seed validation sized Kubeflow's components by the CPU and memory they really used against what
they requested. metrics-server (on a real cluster) and the embedded cluster serve the same PodMetrics:
per container a CPU rate over a `window` and the working-set memory now. A sampler thread reads them
every `SAMPLE_INTERVAL_SECONDS` for the scenario's namespace, together with the pods (for requests,
limits and OOM kills), and folds each reading into one record per container: the peaks, the CPU
seconds (rate times the part of its window since the previous reading, summed), and
how many readings found the container at its CPU limit, which is all the metrics API shows of CPU
throttling. What the last window before a pod ended used is not seen, so CPU seconds are a lower bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from typing import Any

from kfval.kube import quantities
from kfval.kube.client import Connection
from kfval.kube.errors import KfvalError, MissingKindError

METRICS_API_VERSION = "metrics.k8s.io/v1beta1"
SAMPLE_INTERVAL_SECONDS = 2.0
AT_LIMIT_SHARE = Fraction(95, 100)
"""A reading at or above this share of the CPU limit counts as throttled (the kernel holds it there)."""
RESOURCES = ("cpu", "memory")
STOP_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class ContainerUsage:
    """One container's resources and what it used, over the readings taken while it ran."""

    pod: str
    container: str
    requests: Mapping[str, Fraction]
    limits: Mapping[str, Fraction]
    readings: int = 0
    cpu_seconds: float = 0.0
    peak_cpu: Fraction = Fraction(0)
    """Cores."""
    peak_memory: Fraction = Fraction(0)
    """Bytes of working set."""
    readings_at_cpu_limit: int = 0
    oom_killed: bool = False
    sampled_at: datetime | None = None
    """The newest reading's `timestamp`: metrics-server answers with the same reading until its next scrape."""
    read_at: float | None = None
    """When the newest reading was read, on the sampler's monotonic clock. A later reading's window may reach
    back before it (the sampler's last reading at cleanup comes soon after the one before): only the time
    since is new. The API's timestamps have whole seconds only, too coarse to tell that stretch."""

    def figures(self) -> dict[str, Any]:
        """The record as plain numbers (cores, bytes, seconds), the shape reports keep it in."""
        return {
            "pod": self.pod,
            "container": self.container,
            "requests": {name: float(value) for name, value in self.requests.items()},
            "limits": {name: float(value) for name, value in self.limits.items()},
            "peak_cpu": float(self.peak_cpu),
            "peak_memory": float(self.peak_memory),
            "cpu_seconds": self.cpu_seconds,
            "readings": self.readings,
            "readings_at_cpu_limit": self.readings_at_cpu_limit,
            "oom_killed": self.oom_killed,
        }

    def read(
        self, usage: Mapping[str, Any], window_seconds: float, *, sampled_at: datetime, read_at: float
    ) -> ContainerUsage:
        """This record with one more reading (`usage` as PodMetrics gives a container's, over `window_seconds`
        up to `sampled_at`, read at `read_at`); the reading it has already (the same `sampled_at`) adds nothing."""
        if sampled_at == self.sampled_at:
            return self
        fresh = window_seconds if self.read_at is None else min(window_seconds, read_at - self.read_at)
        cpu, memory = quantities.parse(usage.get("cpu", "0")), quantities.parse(usage.get("memory", "0"))
        limit = self.limits.get("cpu")
        at_limit = limit is not None and cpu >= limit * AT_LIMIT_SHARE
        return replace(
            self,
            readings=self.readings + 1,
            cpu_seconds=self.cpu_seconds + float(cpu) * max(fresh, 0.0),
            peak_cpu=max(self.peak_cpu, cpu),
            peak_memory=max(self.peak_memory, memory),
            readings_at_cpu_limit=self.readings_at_cpu_limit + int(at_limit),
            sampled_at=sampled_at,
            read_at=read_at,
        )


def go_duration_seconds(text: str) -> float:
    """`10.213s`, `1m5s` or `500ms` (as metav1.Duration renders) in seconds."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    index = 0
    while index < len(text):
        char = text[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = next(u for u in sorted(units, key=len, reverse=True) if text.startswith(u, index))
        total += float(number) * units[unit]
        number, index = "", index + len(unit)
    return total


def _resources(container: Mapping[str, Any], kind: str) -> dict[str, Fraction]:
    declared = (container.get("resources") or {}).get(kind) or {}
    return {name: quantities.parse(declared[name]) for name in RESOURCES if name in declared}


def _oom_killed(pod: Mapping[str, Any]) -> set[str]:
    """Names of the pod's containers whose current or last run ended OOMKilled."""
    found = set()
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        for state in (status.get("state") or {}, status.get("lastState") or {}):
            if (state.get("terminated") or {}).get("reason") == "OOMKilled":
                found.add(status["name"])
    return found


class UsageSampler:
    """Samples one namespace's pod usage on a thread of its own until stopped."""

    def __init__(self, conn: Connection, namespace: str, *, interval_seconds: float = SAMPLE_INTERVAL_SECONDS) -> None:
        self._conn = conn
        self._namespace = namespace
        self._interval = interval_seconds
        self._records: dict[tuple[str, str], ContainerUsage] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"usage {namespace}", daemon=True)
        self.problem: str | None = None
        """Why the last sample failed (e.g. no metrics-server), None after a good one."""
        self._unserved: str | None = None
        """Set once the cluster turned out not to serve the metrics API: asking again would only repeat
        the discovery of every group the client does for a kind it cannot find."""

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Take a last sample and end the thread; a cleanup never waits more than `STOP_WAIT_SECONDS` for it
        (a sample may be riding out an API outage), and the table then says its last reading is missing."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_SECONDS)
        if self._thread.is_alive():
            self.problem = f"the last usage sample did not finish within {STOP_WAIT_SECONDS:g} s"

    def records(self) -> list[ContainerUsage]:
        """Every container seen so far, by pod and container name."""
        with self._lock:
            return [self._records[key] for key in sorted(self._records)]

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self._interval):
                self.sample()
                return

    def sample(self) -> None:
        """Read the namespace's pods and their metrics once; a failure is kept in `problem`, never raised."""
        try:
            pods = self._conn.list("v1", "Pod", self._namespace)["items"]
            metrics = self._metrics()
            read_at = time.monotonic()
        except KfvalError as error:
            self.problem = f"pod metrics could not be read from {METRICS_API_VERSION}: {error}"
            return
        self.problem = self._unserved
        with self._lock:
            for pod in pods:
                self._declare(pod)
            for item in metrics:
                window = go_duration_seconds(str(item.get("window", "0s")))
                sampled_at = datetime.fromisoformat(str(item["timestamp"]).replace("Z", "+00:00"))
                for container in item.get("containers") or []:
                    key = (item["metadata"]["name"], container["name"])
                    if key in self._records:
                        self._records[key] = self._records[key].read(
                            container.get("usage") or {}, window, sampled_at=sampled_at, read_at=read_at
                        )

    def _metrics(self) -> list[Mapping[str, Any]]:
        """The namespace's PodMetrics; none (and why, once) when the cluster does not serve them."""
        if self._unserved is not None:
            return []
        try:
            items: list[Mapping[str, Any]] = self._conn.list(METRICS_API_VERSION, "PodMetrics", self._namespace)[
                "items"
            ]
        except MissingKindError as error:
            self._unserved = f"{error} (metrics-server serves it on a real cluster)"
            return []
        return items

    def _declare(self, pod: Mapping[str, Any]) -> None:
        name = pod["metadata"]["name"]
        killed = _oom_killed(pod)
        for container in (pod.get("spec") or {}).get("containers") or []:
            key = (name, container["name"])
            record = self._records.get(key) or ContainerUsage(
                name, container["name"], _resources(container, "requests"), _resources(container, "limits")
            )
            self._records[key] = replace(record, oom_killed=record.oom_killed or container["name"] in killed)
