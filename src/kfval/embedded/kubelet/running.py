"""One container of a pod, through its runs: pull, create, start, probe, exit, restart or not.

The container's status entry (state, lastState, restartCount, ready, started) is what users and
controllers watch, so every step here updates its :class:`ContainerRecord` and asks the pod worker
to publish. Restart decisions follow the pod's restartPolicy with the kubelet's CrashLoopBackOff
back-off; termination follows the kubelet: preStop hook, SIGTERM, grace period, SIGKILL.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import shutil
import signal
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from kfval.embedded.clock import Clock, rfc3339, within
from kfval.embedded.kubelet import backoff, containerspec, podstatus, sandbox
from kfval.embedded.kubelet.containers import (
    SCRATCH_DIRS,
    ContainerStartError,
    ExecTarget,
    Mount,
    PodNetwork,
    ProcessSpec,
    RunningProcess,
    Sandbox,
    Stream,
)
from kfval.embedded.kubelet.podservices import ImageContent, LogWriter, PodServices
from kfval.embedded.kubelet.probing import ProbeHooks, Prober, ProbeTarget
from kfval.embedded.kubelet.pulling import ImagePuller
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

log = logging.getLogger(__name__)

MAX_TERMINATION_MESSAGE_BYTES = 4096
FALLBACK_LOG_LINES = 80
FALLBACK_LOG_BYTES = 2048
START_ERROR_EXIT_CODE = 128
SIGKILL_EXIT_CODE = 137
CONFIG_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class PodContext:
    """What every container of one pod shares, handed down by the pod worker."""

    store: Store
    clock: Clock
    sandbox: Sandbox
    services: PodServices
    puller: ImagePuller
    crash_back_off: backoff.BackOff
    pod_dir: Path
    network: PodNetwork
    host_ip: str
    volumes: Mapping[str, Path]
    hosts_file: Path
    resolv_conf: Path
    pod: Callable[[], Body]
    publish: Callable[[], None]
    stopping: asyncio.Event


@dataclass
class ContainerRecord:
    """The kubelet's running knowledge of one container; `status()` renders its status entry."""

    spec: Body
    init: bool
    state: Body
    last_state: Body = field(default_factory=dict)
    last_termination: Body | None = None
    ready: bool = False
    started: bool = False
    restart_count: int = 0
    runs: int = 0
    image: str = ""
    image_id: str = ""
    container_id: str = ""

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def exit_code(self) -> int | None:
        done = self.state.get("terminated")
        return None if done is None else int(done["exitCode"])

    def status(self) -> Body:
        return podstatus.container_status(
            self.spec,
            state=self.state,
            last_state=self.last_state,
            ready=self.ready,
            restart_count=self.restart_count,
            image=self.image,
            image_id=self.image_id,
            container_id=self.container_id,
            started=self.started,
        )


class ContainerRunner:
    """Runs one container of a pod; `stop` may be called at any time from the pod worker."""

    def __init__(self, ctx: PodContext, record: ContainerRecord) -> None:
        self._ctx = ctx
        self.record = record
        self._process: RunningProcess | None = None
        self._spec: ProcessSpec | None = None
        self._killed = False
        self._tail: collections.deque[bytes] = collections.deque(maxlen=FALLBACK_LOG_LINES)
        kind = "initContainers" if record.init else "containers"
        self.field_path = f"spec.{kind}{{{record.name}}}"

    def _event(self, type_: str, reason: str, message: str) -> None:
        self._ctx.services.events.event(self._ctx.pod(), type_, reason, message, field_path=self.field_path)

    def _now(self) -> str:
        return rfc3339(self._ctx.clock.now())

    def _report_waiting(self, state: Body) -> None:
        self.record.state = state
        if self.record.last_termination is not None:
            self.record.last_state = self.record.last_termination
        self._ctx.publish()

    async def run_until_done(self, policy: str) -> int | None:
        """Runs and restarts per `policy` (Always, OnFailure, Never); the final exit code, None when stopped."""
        while True:
            code = await self.run_once()
            if code is None or self._ctx.stopping.is_set():
                return code
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                return code
            if not await self._back_off_restart():
                return code

    def _back_off_key(self) -> str:
        meta = self._ctx.pod()["metadata"]
        return f"{meta['name']}_{meta.get('namespace', '')}_{meta.get('uid', '')}_{self.record.name}"

    def _pod_label(self) -> str:
        meta = self._ctx.pod()["metadata"]
        return f"{meta['name']}_{meta.get('namespace', '')}({meta.get('uid', '')})"

    async def _back_off_restart(self) -> bool:
        """Wait out CrashLoopBackOff when the container is inside its window; False when the pod stops."""
        back_off, key = self._ctx.crash_back_off, self._back_off_key()
        if back_off.in_back_off_since(key, self._ctx.clock.monotonic()):
            delay = backoff.go_duration(back_off.delay(key))
            self._report_waiting(
                podstatus.waiting(
                    "CrashLoopBackOff",
                    f"back-off {delay} restarting failed container={self.record.name} pod={self._pod_label()}",
                )
            )
            self._event(
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {self.record.name} in pod {self._pod_label()}",
            )
            remaining = back_off.remaining(key, self._ctx.clock.monotonic())
            if await backoff.sleep_unless(self._ctx.clock, self._ctx.stopping, remaining):
                return False
        back_off.next(key, self._ctx.clock.monotonic())
        return True

    async def run_once(self) -> int | None:
        """One run of the container: its exit code, or None when the pod stopped before it started."""
        content = await self._ctx.puller.pull(
            self._ctx.pod(),
            self.record.spec,
            field_path=self.field_path,
            report=self._report_waiting,
            stopping=self._ctx.stopping,
        )
        if content is None:
            return None
        spec = await self._configure(content)
        if spec is not None and content.rootfs is not None:
            root = await self._fresh_root(content.rootfs)
            spec = replace(spec, root=root) if root is not None else None
        if spec is None or self._ctx.stopping.is_set():
            return None
        return await self._start_and_wait(spec, content)

    async def _configure(self, content: ImageContent) -> ProcessSpec | None:
        """The process to start, retrying while its configuration (env sources, command) is not valid."""
        services, container = self._ctx.services, self.record.spec
        while not self._ctx.stopping.is_set():
            try:
                own_env = services.environment.resolve_env(
                    self._ctx.pod(),
                    container,
                    store=self._ctx.store,
                    pod_ips=[self._ctx.network.ip],
                    host_ip=self._ctx.host_ip,
                )
                env = containerspec.environment(content, own_env, hostname=self._hostname())
                argv = containerspec.argv(container, content, env=env, expand=services.environment.expand)
            except Exception as error:  # any configuration failure is reported on the pod, as kubelets do
                self._report_waiting(podstatus.waiting("CreateContainerConfigError", str(error)))
                self._event("Warning", "Failed", f"Error: {error}")
                await backoff.sleep_unless(self._ctx.clock, self._ctx.stopping, CONFIG_RETRY_SECONDS)
                continue
            return ProcessSpec(
                argv=argv,
                env=env,
                workdir=containerspec.working_dir(container, content),
                mounts=self._mounts(content, env),
                hostname=self._hostname(),
                network=self._ctx.network,
                memory_limit_bytes=containerspec.memory_limit_bytes(container),
                scratch_dirs=self._scratch_dirs(content),
                runtime_paths=tuple(content.runtime_paths),
                run_as=containerspec.run_as(self._ctx.pod(), container, content),
            )
        return None

    @staticmethod
    def _scratch_dirs(content: ImageContent) -> tuple[str, ...]:
        """The image's own choice, else /tmp on the host's root and nothing on an image's (it is writable)."""
        if content.scratch_dirs is not None:
            return tuple(content.scratch_dirs)
        return () if content.rootfs is not None else SCRATCH_DIRS

    async def _fresh_root(self, image_root: Path) -> Path | None:
        """This run's writable copy of the image's root (a container's own layer); None when it cannot be made."""
        copy = self._ctx.pod_dir / "containers" / self.record.name / "rootfs"
        await asyncio.to_thread(shutil.rmtree, copy, True)
        copy.parent.mkdir(parents=True, exist_ok=True)
        code, output = await sandbox.run_host(["cp", "-a", "--reflink=auto", str(image_root), str(copy)])
        if code != 0:
            message = f"failed to create containerd container: copying the image root: {output.decode().strip()}"
            self._report_waiting(podstatus.waiting("CreateContainerError", message))
            self._event("Warning", "Failed", f"Error: {message}")
            return None
        return copy

    def _hostname(self) -> str:
        pod = self._ctx.pod()
        return str((pod.get("spec") or {}).get("hostname") or pod["metadata"]["name"])

    def _message_file(self) -> Path:
        return self._ctx.pod_dir / "containers" / self.record.name / "termination-log"

    def _mounts(self, content: ImageContent, env: Mapping[str, str]) -> tuple[Mount, ...]:
        image = tuple(Mount(Path(item.source), item.target, read_only=True) for item in content.mounts)
        volumes = self._ctx.services.volumes.mounts_for(self.record.spec, self._ctx.volumes, env=env)
        message = Mount(self._message_file(), containerspec.termination_message_path(self.record.spec))
        names = (Mount(self._ctx.hosts_file, "/etc/hosts"), Mount(self._ctx.resolv_conf, "/etc/resolv.conf"))
        runtime = containerspec.runtime_mounts(SCRATCH_DIRS) if content.rootfs is None else ()
        return (*runtime, *image, *volumes, *names, message)

    def _begin_run(self, content: ImageContent) -> str:
        """Restart bookkeeping and identity of a new run; returns its containerID."""
        record = self.record
        if record.runs:
            record.restart_count += 1
            record.last_state = record.last_termination or {}
        record.runs += 1
        record.image = containerspec.normalized_reference(str(record.spec.get("image", "")))
        record.image_id = content.image_id or containerspec.image_id(str(record.spec.get("image", "")))
        record.container_id = f"kfval://{uuid.uuid4().hex}{uuid.uuid4().hex}"
        self._message_file().parent.mkdir(parents=True, exist_ok=True)
        self._message_file().write_bytes(b"")
        self._tail.clear()
        self._killed = False
        return record.container_id

    async def _start_and_wait(self, spec: ProcessSpec, content: ImageContent) -> int:
        container_id = self._begin_run(content)
        self._spec = spec
        writer = self._ctx.services.logs.writer(
            str(self._ctx.pod()["metadata"].get("uid", "")), self.record.name, self.record.restart_count
        )
        self._event("Normal", "Created", f"Created container: {self.record.name}")
        started_at = self._now()
        try:
            self._process = await self._ctx.sandbox.start(spec, self._sink(writer))
        except ContainerStartError as error:
            writer.close()
            self._event("Warning", "Failed", f"Error: {error}")
            return self._finish(
                START_ERROR_EXIT_CODE, started_at, container_id, reason="StartError", message=str(error)
            )
        self._event("Normal", "Started", f"Started container {self.record.name}")
        self.record.state = podstatus.running(started_at)
        self.record.started = not self.record.spec.get("startupProbe")
        self.record.ready = self.record.started and not self.record.spec.get("readinessProbe")
        self._ctx.publish()
        prober = asyncio.get_running_loop().create_task(self._probe(spec), name=f"prober {self.field_path}")
        try:
            code = await self._process.wait()
        finally:
            prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await prober
            writer.close()
        oom = code == SIGKILL_EXIT_CODE and not self._killed and spec.memory_limit_bytes is not None
        reason = podstatus.exit_reason(code, oom_killed=oom)
        return self._finish(code, started_at, container_id, reason=reason, message=self._termination_message(code))

    def _finish(self, code: int, started_at: str, container_id: str, *, reason: str, message: str) -> int:
        state = podstatus.terminated(
            code,
            reason=reason,
            started_at=started_at,
            finished_at=self._now(),
            container_id=container_id,
            message=message,
        )
        self.record.state = state
        self.record.last_termination = state
        self.record.ready = False
        self.record.started = False
        self._process = None
        self._ctx.publish()
        return code

    def _sink(self, writer: LogWriter) -> Callable[[Stream, bytes], None]:
        def sink(stream: Stream, line: bytes) -> None:
            self._tail.append(line)
            writer.write(stream, line)

        return sink

    def _termination_message(self, code: int) -> str:
        path = self._message_file()
        data = path.read_bytes()[:MAX_TERMINATION_MESSAGE_BYTES] if path.exists() else b""
        if not data and code != 0 and containerspec.falls_back_to_logs(self.record.spec):
            data = b"\n".join(self._tail)[-FALLBACK_LOG_BYTES:]
        return data.decode("utf-8", errors="replace")

    async def _probe(self, spec: ProcessSpec) -> None:
        """Probe this run until cancelled; a prober that fails is logged, never allowed to end the run."""

        async def exec_in(argv: Sequence[str], timeout: float) -> tuple[int, bytes]:
            return await self._ctx.sandbox.run(replace(spec, argv=tuple(argv)), timeout)

        services = self._ctx.services
        target = ProbeTarget(self._ctx.pod, self.record.spec, self._ctx.network.ip, exec_in, self.field_path)
        hooks = ProbeHooks(set_ready=self._set_ready, set_started=self._set_started, kill=self._kill_for)
        try:
            await Prober(target, hooks, probes=services.probes, events=services.events, clock=self._ctx.clock).run()
        except Exception:  # the container keeps running and is reported as it ends; its probes stop
            log.exception("probing %s of pod %s failed", self.field_path, self._pod_label())

    def _set_ready(self, ready: bool) -> None:
        if self.record.ready != ready and self._process is not None:
            self.record.ready = ready
            self._ctx.publish()

    def _set_started(self) -> None:
        if not self.record.started and self._process is not None:
            self.record.started = True
            self._ctx.publish()

    async def _kill_for(self, message: str) -> None:
        self._event("Normal", "Killing", message)
        await self._terminate(self._grace_seconds())

    def _grace_seconds(self) -> float:
        return float((self._ctx.pod().get("spec") or {}).get("terminationGracePeriodSeconds", 30))

    async def stop(self, grace_seconds: float) -> None:
        """Stop the running process (if any) as a deleted pod's container is stopped."""
        if self._process is None:
            return
        self._event("Normal", "Killing", f"Stopping container {self.record.name}")
        await self._terminate(grace_seconds)

    async def _terminate(self, grace_seconds: float) -> None:
        process = self._process
        if process is None:
            return
        self._killed = True
        await self._pre_stop(grace_seconds)
        process.signal(signal.SIGTERM)
        try:
            await within(self._ctx.clock, asyncio.shield(process.wait()), grace_seconds)
        except TimeoutError:
            process.signal(signal.SIGKILL)

    async def _pre_stop(self, grace_seconds: float) -> None:
        command = (((self.record.spec.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command")
        if not command or self._spec is None:
            return
        with contextlib.suppress(Exception):
            await self._ctx.sandbox.run(replace(self._spec, argv=tuple(command)), grace_seconds)

    def exec_target(self) -> ExecTarget | None:
        """The running process and how it was started, which `pods/exec` enters; None unless it runs."""
        if self._process is None or self._spec is None or "running" not in self.record.state:
            return None
        return ExecTarget(self._spec, self._process)

    @property
    def running_pid(self) -> int | None:
        """The pid of the container's current run while it runs, for resource accounting."""
        target = self.exec_target()
        return None if target is None else target.process.pid

    def kill_now(self) -> None:
        """SIGKILL without grace: the cluster is shutting down."""
        if self._process is not None:
            self._killed = True
            self._process.signal(signal.SIGKILL)
