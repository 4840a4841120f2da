"""One pod on the node, from admission to its end: sandbox, volumes, init containers, containers, deletion.

The kubelet runs one worker per pod so that a slow image, a crash loop or a long grace period in one
pod never holds up another. The worker owns the pod's status: every change of a container record
is rendered by podstatus and written through the `status` subresource, only when it differs from
what is stored. A deleted pod is stopped gracefully and then removed for good, which is the
kubelet's half of a graceful pod deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.errors import ConflictError, NotFoundError
from kfval.embedded.kubelet import backoff, podstatus
from kfval.embedded.kubelet.containers import ExecTarget, Network, PodNetwork, Sandbox
from kfval.embedded.kubelet.podservices import PodServices
from kfval.embedded.kubelet.pulling import ImagePuller
from kfval.embedded.kubelet.running import ContainerRecord, ContainerRunner, PodContext
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

log = logging.getLogger(__name__)
T = TypeVar("T")

SETUP_RETRY_SECONDS = 2.0
STATUS_WRITE_ATTEMPTS = 5
DEFAULT_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class NodeRuntime:
    """What every pod worker of the node shares."""

    store: Store
    clock: Clock
    sandbox: Sandbox
    network: Network
    services: PodServices
    puller: ImagePuller
    crash_back_off: backoff.BackOff
    pods_root: Path
    host_ip: str


class PodWorker:
    """Drives one pod; the kubelet feeds it the pod's newest body with `update`."""

    def __init__(self, runtime: NodeRuntime, pod: Body) -> None:
        self._rt = runtime
        self._pod = pod
        self.uid = str(pod["metadata"]["uid"])
        self._pods = runtime.store.catalog.lookup("", "v1", "pods")
        spec = pod.get("spec") or {}
        self._init = [
            ContainerRecord(c, True, podstatus.default_waiting(pod, init=True))
            for c in spec.get("initContainers") or []
        ]
        self._main = [
            ContainerRecord(c, False, podstatus.default_waiting(pod, init=False)) for c in spec.get("containers") or []
        ]
        self._runners: list[ContainerRunner] = []
        self.stopping = asyncio.Event()
        self._network: PodNetwork | None = None
        self._sandbox_ready = False
        self._start_time = ""
        self._terminal = False
        self._gone = False
        self._closing = False

    @property
    def pod(self) -> Body:
        return self._pod

    def update(self, pod: Body) -> None:
        self._pod = pod
        if pod["metadata"].get("deletionTimestamp"):
            self.stopping.set()

    def _policy(self) -> str:
        return str((self._pod.get("spec") or {}).get("restartPolicy") or "Always")

    # -- status ----------------------------------------------------------------------------------

    def publish(self) -> None:
        """Write the pod's status if it changed; a fresh read each time, retried on conflicts."""
        if self._gone:
            return
        meta = self._pod["metadata"]
        for _ in range(STATUS_WRITE_ATTEMPTS):
            try:
                current = self._rt.store.get(self._pods, meta.get("namespace"), meta["name"])
            except NotFoundError:
                self._gone = True
                return
            if current["metadata"].get("uid") != self.uid:
                self._gone = True
                return
            status = self._status(current)
            if status == current.get("status"):
                return
            current["status"] = status
            try:
                self._pod = self._rt.store.replace(self._pods, current, subresource="status")
            except ConflictError:
                continue
            return

    def _status(self, current: Body) -> Body:
        return podstatus.pod_status(
            current,
            init_statuses=[r.status() for r in self._init],
            statuses=[r.status() for r in self._main],
            sandbox_ready=self._sandbox_ready,
            host_ip=self._rt.host_ip,
            pod_ip=self._network.ip if self._network else "",
            start_time=self._start_time,
            now=rfc3339(self._rt.clock.now()),
            terminal=self._terminal,
        )

    # -- lifecycle -------------------------------------------------------------------------------

    async def run(self) -> None:
        """The pod's whole life on the node; returns when it has finished or been deleted."""
        self._start_time = rfc3339(self._rt.clock.now())
        self.publish()
        work = asyncio.ensure_future(self._lifecycle())
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
            if self.stopping.is_set():
                await self._stop_containers(0.0 if self._closing else self._grace_seconds())
            await work
        finally:
            stop.cancel()
            if not work.done():
                work.cancel()
        await self._tear_down()
        if self.stopping.is_set() and not self._closing:
            self._finish_deletion()

    async def _lifecycle(self) -> None:
        ctx = await self._prepare()
        if ctx is None:
            return
        if await self._initialize(ctx):
            runners = [ContainerRunner(ctx, record) for record in self._main]
            self._runners.extend(runners)
            await asyncio.gather(*(runner.run_until_done(self._policy()) for runner in runners))

    async def _prepare(self) -> PodContext | None:
        """Sandbox (network) and volumes; None when the pod is deleted before they are ready."""
        network = await self._retrying("FailedCreatePodSandBox", lambda: self._rt.network.setup(self.uid))
        if network is None:
            return None
        self._network, self._sandbox_ready = network, True
        self.publish()
        pod_dir = self._rt.pods_root / self.uid
        pod_dir.mkdir(parents=True, exist_ok=True)
        volumes = await self._retrying(
            "FailedMount",
            lambda: self._rt.services.volumes.prepare_volumes(self._pod, store=self._rt.store, pod_dir=pod_dir),
        )
        if volumes is None:
            return None
        return PodContext(
            store=self._rt.store,
            clock=self._rt.clock,
            sandbox=self._rt.sandbox,
            services=self._rt.services,
            puller=self._rt.puller,
            crash_back_off=self._rt.crash_back_off,
            pod_dir=pod_dir,
            network=network,
            host_ip=self._rt.host_ip,
            volumes=volumes,
            hosts_file=self._rt.services.hosts.path_for(self._pod, pod_ip=network.ip),
            resolv_conf=self._rt.services.hosts.resolv_conf_for(self._pod),
            pod=lambda: self._pod,
            publish=self.publish,
            stopping=self.stopping,
        )

    async def _retrying(self, reason: str, attempt: Callable[[], Awaitable[T]]) -> T | None:
        """Retry a setup step until it works, with a Warning event per distinct failure; None when stopping."""
        reported = ""
        while not self.stopping.is_set():
            try:
                return await attempt()
            except Exception as error:  # a failed setup step is reported on the pod and retried, as kubelets do
                message = str(getattr(error, "message", error))
                if message != reported:
                    self._rt.services.events.event(self._pod, "Warning", getattr(error, "reason", reason), message)
                    reported = message
            await backoff.sleep_unless(self._rt.clock, self.stopping, SETUP_RETRY_SECONDS)
        return None

    async def _initialize(self, ctx: PodContext) -> bool:
        """Init containers in order, each to success; False when one failed for good or the pod stops."""
        policy = "Never" if self._policy() == "Never" else "OnFailure"
        for record in self._init:
            runner = ContainerRunner(ctx, record)
            self._runners.append(runner)
            code = await runner.run_until_done(policy)
            if code != 0 or self.stopping.is_set():
                return False
        return True

    # -- ending ----------------------------------------------------------------------------------

    def _grace_seconds(self) -> float:
        meta, spec = self._pod["metadata"], self._pod.get("spec") or {}
        grace = meta.get("deletionGracePeriodSeconds", spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS))
        return float(grace)

    async def _stop_containers(self, grace_seconds: float) -> None:
        await asyncio.gather(*(runner.stop(grace_seconds) for runner in self._runners))

    async def _tear_down(self) -> None:
        """Release the sandbox once no container runs; the pod keeps its IP in status, as on a real node."""
        self._terminal = bool(self._pod["metadata"].get("deletionTimestamp")) or self.stopping.is_set()
        if self._sandbox_ready:
            with contextlib.suppress(Exception):
                await self._rt.network.teardown(self.uid)
            self._sandbox_ready = False
        self.publish()

    def _finish_deletion(self) -> None:
        meta = self._pod["metadata"]
        self._rt.services.hosts.forget(self.uid)
        with contextlib.suppress(NotFoundError, ConflictError):
            self._rt.store.delete(
                self._pods, meta.get("namespace"), meta["name"], grace_period_seconds=0, preconditions={"uid": self.uid}
            )
        self._gone = True

    def exec_target(self, container: str) -> ExecTarget | None:
        """The named container's current run, for `pods/exec`; None unless it is running."""
        runs = [runner for runner in self._runners if runner.record.name == container]
        return runs[-1].exec_target() if runs else None

    def running_pids(self) -> dict[str, int]:
        """The pid of each running container by name (the newest run of a restarted one)."""
        return {runner.record.name: pid for runner in self._runners if (pid := runner.running_pid) is not None}

    def kill_now(self) -> None:
        """The cluster is shutting down (or the pod vanished): SIGKILL every process, write nothing more."""
        self._closing = True
        self._gone = True
        self.stopping.set()
        for runner in self._runners:
            runner.kill_now()
