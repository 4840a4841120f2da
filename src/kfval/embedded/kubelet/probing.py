"""Startup, readiness and liveness probing of one running container, with the kubelet's thresholds.

Readiness decides whether Services route to a pod and whether Deployments count it available;
liveness restarts hung containers. Both follow the probe fields literally (initialDelaySeconds,
periodSeconds, successThreshold, failureThreshold) and report failures as Unhealthy events, so
`kubectl describe` reads as on a real node. The probe itself (exec, httpGet, tcpSocket) is run by
the probes module; this one decides what a run of results means.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kfval.embedded.kubelet.podservices import ExecIn, PodServices
from kfval.embedded.types import Body

DEFAULT_PERIOD_SECONDS = 10.0


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


class Prober:
    """Runs the probes of one container run until cancelled (the container exited or the pod stops)."""

    def __init__(self, services: PodServices, target: ProbeTarget, hooks: ProbeHooks) -> None:
        self._services = services
        self._target = target
        self._hooks = hooks

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

    async def _attempt(self, probe: Body, kind: str) -> bool:
        result = await self._services.probes.run_probe(probe, pod_ip=self._target.pod_ip, exec_in=self._target.exec_in)
        if not result.success:
            self._services.events.event(
                self._target.pod(),
                "Warning",
                "Unhealthy",
                f"{kind} probe failed: {result.message}".rstrip(),
                field_path=self._target.field_path,
            )
        return result.success

    def _ports(self) -> dict[str, int]:
        """Named container ports, for probes that say `port: http`."""
        ports = self._target.container.get("ports") or []
        return {p["name"]: int(p["containerPort"]) for p in ports if p.get("name") and p.get("containerPort")}

    async def _startup(self, probe: Body) -> bool:
        """True once the startup probe succeeds; False after the container was killed for failing it."""
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        failures = 0
        while True:
            if await self._attempt(probe, "Startup"):
                return True
            failures += 1
            if failures >= int(probe.get("failureThreshold", 3)):
                name = self._target.container["name"]
                await self._hooks.kill(f"Container {name} failed startup probe, will be restarted")
                return False
            await asyncio.sleep(float(probe.get("periodSeconds", DEFAULT_PERIOD_SECONDS)))

    async def _readiness(self, probe: Body) -> None:
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        successes = failures = 0
        while True:
            if await self._attempt(probe, "Readiness"):
                successes, failures = successes + 1, 0
                if successes >= int(probe.get("successThreshold", 1)):
                    self._hooks.set_ready(True)
            else:
                successes, failures = 0, failures + 1
                if failures >= int(probe.get("failureThreshold", 3)):
                    self._hooks.set_ready(False)
            await asyncio.sleep(float(probe.get("periodSeconds", DEFAULT_PERIOD_SECONDS)))

    async def _liveness(self, probe: Body) -> None:
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        failures = 0
        while True:
            if await self._attempt(probe, "Liveness"):
                failures = 0
            else:
                failures += 1
                if failures >= int(probe.get("failureThreshold", 3)):
                    name = self._target.container["name"]
                    await self._hooks.kill(f"Container {name} failed liveness probe, will be restarted")
                    return
            await asyncio.sleep(float(probe.get("periodSeconds", DEFAULT_PERIOD_SECONDS)))
