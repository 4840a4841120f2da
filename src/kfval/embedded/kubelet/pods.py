"""The kubelet: the node's agent that turns pods in the store into running local processes.

It watches every pod, hands unbound ones to the single-node scheduler, and gives each pod bound to
this node its own worker (podworker.py), so that pods progress independently. It also registers
the Node and keeps it alive. Everything it learns or decides reaches clients only through the
store, exactly as a real kubelet talks only to the API server. Once a pod is gone from the store,
its directory and logs go too (off the event loop), so a long run does not fill the disk.
Its timers run on the cluster's clock; only `close` bounds its wait for the killed workers with
the event loop's own timeout, so that shutting down ends even while a test holds the clock still.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from kfval.embedded import tasks
from kfval.embedded.clock import Clock
from kfval.embedded.errors import ApiError
from kfval.embedded.kubelet import backoff, unpacking
from kfval.embedded.kubelet.containers import ExecTarget, Network, Sandbox
from kfval.embedded.kubelet.node import DEFAULT_NODE_NAME, NodeAgent, Scheduler
from kfval.embedded.kubelet.podservices import PodServices
from kfval.embedded.kubelet.podworker import NodeRuntime, PodWorker
from kfval.embedded.kubelet.pulling import ImagePuller
from kfval.embedded.store.objects import Store
from kfval.embedded.tasks import TaskGroup
from kfval.embedded.types import Body, WatchEvent

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
SCHEDULE_RETRY_SECONDS = 1.0
CLOSE_TIMEOUT_SECONDS = 5.0


class Kubelet:
    """Runs the pods of node `node_name`; `run()` until cancelled, then `close()`."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        sandbox: Sandbox,
        network: Network,
        services: PodServices,
        pods_root: Path,
        tasks: TaskGroup,
        node_name: str = DEFAULT_NODE_NAME,
        back_off_initial_seconds: float = backoff.DEFAULT_INITIAL_SECONDS,
        back_off_max_seconds: float = backoff.DEFAULT_MAX_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        schedule_retry_seconds: float = SCHEDULE_RETRY_SECONDS,
        registry: unpacking.RegistryImages | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._tasks = tasks
        self.node_name = node_name
        self._heartbeat_seconds = heartbeat_seconds
        self._schedule_retry_seconds = schedule_retry_seconds
        self._pods = store.catalog.lookup("", "v1", "pods")
        self.node = NodeAgent(
            store,
            clock,
            name=node_name,
            host_ip=network.host_ip,
            storage_dir=pods_root,
            images=services.images.present(),
        )
        self.scheduler = Scheduler(store, clock, services.scheduler_events, node_name=node_name)
        self._runtime = NodeRuntime(
            store=store,
            clock=clock,
            sandbox=sandbox,
            network=network,
            services=services,
            puller=ImagePuller(
                services,
                clock,
                backoff.BackOff(back_off_initial_seconds, back_off_max_seconds),
                store=store,
                registry=registry,
            ),
            crash_back_off=backoff.BackOff(back_off_initial_seconds, back_off_max_seconds),
            pods_root=pods_root,
            host_ip=network.host_ip,
        )
        self._workers: dict[str, PodWorker] = {}
        self._running: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Register the node, then follow every pod until cancelled."""
        self._runtime.pods_root.mkdir(parents=True, exist_ok=True)
        self.node.register()
        self._tasks.spawn("kubelet/heartbeat", self.node.run(self._heartbeat_seconds))
        self._tasks.spawn("scheduler/retry", self._retry_unscheduled())
        async for event in tasks.follow(lambda: self._store.watch(self._pods), what="pods"):
            self._on_event(event)

    def _on_event(self, event: WatchEvent) -> None:
        pod = event.object
        uid = str(pod["metadata"].get("uid", ""))
        if event.type == "DELETED":
            self._forget(pod)
        elif Scheduler.wants(pod):
            self._schedule(pod)
        elif (pod.get("spec") or {}).get("nodeName") == self.node_name:
            worker = self._workers.get(uid)
            if worker is not None:
                worker.update(pod)
            else:
                self._admit(pod)

    def _schedule(self, pod: Body) -> None:
        try:
            self.scheduler.schedule(pod)
        except ApiError as error:  # a concurrent change or a vanished pod: the retry loop looks again
            log.debug("scheduling %s failed: %s", pod["metadata"]["name"], error.message)

    async def _retry_unscheduled(self) -> None:
        """Re-try pods left Unschedulable (their claims may have been bound since), as kube-scheduler does."""
        while True:
            await self._clock.sleep(self._schedule_retry_seconds)
            pending, _ = self._store.list(self._pods, predicate=Scheduler.wants)
            for pod in pending:
                self._schedule(pod)

    def _admit(self, pod: Body) -> None:
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp"):
            return  # finished before this kubelet saw it: nothing left to run
        worker = PodWorker(self._runtime, pod)
        worker.update(pod)
        uid = worker.uid
        self._workers[uid] = worker
        meta = pod["metadata"]
        self._running[uid] = self._tasks.spawn(f"kubelet/pod/{meta.get('namespace')}/{meta['name']}", worker.run())

    def _forget(self, pod: Body) -> None:
        """The pod is gone from the store: stop what still runs, then remove its files."""
        uid = str(pod["metadata"].get("uid", ""))
        worker = self._workers.pop(uid, None)
        task = self._running.pop(uid, None)
        if worker is None:
            return
        if task is not None and not task.done():
            worker.kill_now()
        meta = pod["metadata"]
        self._tasks.spawn(f"kubelet/cleanup/{meta.get('namespace')}/{meta['name']}", self._clean_up(pod, task))

    async def _clean_up(self, pod: Body, task: asyncio.Task[None] | None) -> None:
        """Remove a deleted pod's directory, hosts file and logs once its worker has ended."""
        if task is not None:
            await asyncio.wait([task])
        uid = str(pod["metadata"]["uid"])
        self._runtime.services.hosts.forget(uid)
        await self._runtime.services.logs.remove(pod)
        await asyncio.to_thread(shutil.rmtree, self._runtime.pods_root / uid, ignore_errors=True)

    @property
    def pods_root(self) -> Path:
        """Where each pod's directory (`<uid>/`: volumes, termination logs) lives."""
        return self._runtime.pods_root

    def worker(self, uid: str) -> PodWorker | None:
        """The worker of a pod on this node (tests and diagnostics)."""
        return self._workers.get(uid)

    def exec_target(self, uid: str, container: str) -> ExecTarget | None:
        """A running container of a pod on this node, which `pods/exec` enters; None when it does not run."""
        worker = self._workers.get(uid)
        return None if worker is None else worker.exec_target(container)

    def running_pods(self) -> list[tuple[Body, dict[str, int]]]:
        """Each pod with a running container, with the pids of its running containers by name."""
        found = [(worker.pod, worker.running_pids()) for worker in self._workers.values()]
        return [(pod, pids) for pod, pids in found if pids]

    @property
    def sandbox(self) -> Sandbox:
        """What starts this node's processes, exec'd commands included."""
        return self._runtime.sandbox

    async def close(self) -> None:
        """Stop every pod's processes at once, without grace, and wait briefly for the workers to end."""
        for worker in self._workers.values():
            worker.kill_now()
        running = [task for task in self._running.values() if not task.done()]
        if running:
            await asyncio.wait(running, timeout=CLOSE_TIMEOUT_SECONDS)
        self._workers.clear()
        self._running.clear()
