"""Startup, readiness and liveness probing of one running container, with the kubelet's thresholds.

Readiness decides whether Services route to a pod and whether Deployments count it available;
liveness restarts hung containers; startup holds both back. Each follows the probe's fields
(initialDelaySeconds, periodSeconds, successThreshold, failureThreshold, with the API's defaults)
and reports every failure as an Unhealthy event worded as the kubelet words it, so `kubectl
describe` reads as on a real node. Running one probe (exec, httpGet, tcpSocket) is the probes
module's job; this one decides what a run of results means for the container.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kfval.embedded.clock import Clock
from kfval.embedded.kubelet.podservices import EventRecording, ExecIn, Probes
from kfval.embedded.types import Body

ProbeKind = Literal["Startup", "Readiness", "Liveness"]
DEFAULT_PERIOD_SECONDS = 10.0
DEFAULT_FAILURE_THRESHOLD = 3


@dataclass(frozen=True)
class ProbeSettings:
    """The timing fields of a probe; an unset or zero field takes the API's default."""

    initial_delay_seconds: float = 0.0
    period_seconds: float = DEFAULT_PERIOD_SECONDS
    success_threshold: int = 1
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD

    @classmethod
    def of(cls, probe: Mapping[str, Any]) -> ProbeSettings:
        return cls(
            initial_delay_seconds=float(probe.get("initialDelaySeconds") or 0),
            period_seconds=float(probe.get("periodSeconds") or DEFAULT_PERIOD_SECONDS),
            success_threshold=int(probe.get("successThreshold") or 1),
            failure_threshold=int(probe.get("failureThreshold") or DEFAULT_FAILURE_THRESHOLD),
        )


@dataclass(frozen=True)
class ProbeTarget:
    """What probing needs to know about the container it watches."""

    pod: Callable[[], Body]
    container: Body
    pod_ip: str
    exec_in: ExecIn
    field_path: str


@dataclass(frozen=True)
class ProbeHooks:
    """How probe outcomes change the container: readiness, started, and a kill on liveness failure."""

    set_ready: Callable[[bool], None]
    set_started: Callable[[], None]
    kill: Callable[[str], Awaitable[None]]


def named_ports(container: Body) -> dict[str, int]:
    """The container's named ports, for probes that say `port: http`."""
    ports = container.get("ports") or []
    return {str(p["name"]): int(p["containerPort"]) for p in ports if p.get("name") and p.get("containerPort")}


class Prober:
    """Runs the probes of one container run until cancelled (the container exited or the pod stops)."""

    def __init__(
        self, target: ProbeTarget, hooks: ProbeHooks, *, probes: Probes, events: EventRecording, clock: Clock
    ) -> None:
        self._target = target
        self._hooks = hooks
        self._probes = probes
        self._events = events
        self._clock = clock
        self._ports = named_ports(target.container)

    async def run(self) -> None:
        container = self._target.container
        startup = container.get("startupProbe")
        if startup and not await self._startup(startup):
            return
        self._hooks.set_started()
        readiness, liveness = container.get("readinessProbe"), container.get("livenessProbe")
        if not readiness:
            self._hooks.set_ready(True)
        loops = []
        if readiness:
            loops.append(self._readiness(readiness))
        if liveness:
            loops.append(self._liveness(liveness))
        if loops:
            await asyncio.gather(*loops)

    async def _attempt(self, probe: Body, kind: ProbeKind) -> bool:
        target = self._target
        result = await self._probes.run_probe(probe, pod_ip=target.pod_ip, exec_in=target.exec_in, ports=self._ports)
        if not result.success:
            message = f"{kind} probe failed: {result.message}".rstrip()
            self._events.event(target.pod(), "Warning", "Unhealthy", message, field_path=target.field_path)
        return result.success

    async def _startup(self, probe: Body) -> bool:
        """True once the startup probe succeeds; False after the container was killed for failing it."""
        settings = ProbeSettings.of(probe)
        await self._clock.sleep(settings.initial_delay_seconds)
        failures = 0
        while not await self._attempt(probe, "Startup"):
            failures += 1
            if failures >= settings.failure_threshold:
                name = self._target.container["name"]
                await self._hooks.kill(f"Container {name} failed startup probe, will be restarted")
                return False
            await self._clock.sleep(settings.period_seconds)
        return True

    async def _readiness(self, probe: Body) -> None:
        settings = ProbeSettings.of(probe)
        await self._clock.sleep(settings.initial_delay_seconds)
        successes = failures = 0
        while True:
            if await self._attempt(probe, "Readiness"):
                successes, failures = successes + 1, 0
                if successes >= settings.success_threshold:
                    self._hooks.set_ready(True)
            else:
                successes, failures = 0, failures + 1
                if failures >= settings.failure_threshold:
                    self._hooks.set_ready(False)
            await self._clock.sleep(settings.period_seconds)

    async def _liveness(self, probe: Body) -> None:
        settings = ProbeSettings.of(probe)
        await self._clock.sleep(settings.initial_delay_seconds)
        failures = 0
        while True:
            if await self._attempt(probe, "Liveness"):
                failures = 0
            else:
                failures += 1
                if failures >= settings.failure_threshold:
                    name = self._target.container["name"]
                    await self._hooks.kill(f"Container {name} failed liveness probe, will be restarted")
                    return
            await self._clock.sleep(settings.period_seconds)
