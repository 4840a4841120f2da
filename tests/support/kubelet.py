"""A node for the kubelet tests: the real kubelet on the in-process cluster, with fake processes.

The fake sandbox reads each container's argv as a tiny script (`say:hi`, `msg:text`, `exit:1`,
`sleep`, `ignore-term`), so a test states what the "process" does and watches the pod's status
move exactly as a kubelet would move it. An exec'd command is a script too: `exit:3` ends it with
that code, and `nope` cannot be started. Network, images, volumes, env, hosts files, probes and
logs are fakes that record what the kubelet asked of them.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfval.embedded import tasks
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.kubelet.containers import (
    ContainerStartError,
    ExecTarget,
    LogSink,
    Mount,
    PodNetwork,
    ProcessSpec,
    Stream,
)
from kfval.embedded.kubelet.pods import Kubelet
from kfval.embedded.kubelet.podservices import ImageFile, PodServices
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ResourceType
from tests.support.cluster import Harness, running

NS = "default"
NODE_NAME = "kfval-node"
BACK_OFF_INITIAL_SECONDS = 0.2
HEARTBEAT_SECONDS = 0.05
SCHEDULE_RETRY_SECONDS = 0.05


class FakeProcess:
    def __init__(self, spec: ProcessSpec, sink: LogSink, sandbox: FakeSandbox) -> None:
        self.pid = len(sandbox.started)
        self.spec = spec
        self.signals: list[int] = []
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._ignore_term = "ignore-term" in spec.argv
        self._task = asyncio.ensure_future(self._script(sink))

    async def _script(self, sink: LogSink) -> None:
        for word in self.spec.argv:
            verb, _, arg = word.partition(":")
            if verb == "say":
                sink("stdout", arg.encode())
            elif verb == "msg":
                target = next(m for m in self.spec.mounts if m.target == "/dev/termination-log")
                target.source.write_text(arg)
            elif verb == "exit":
                await asyncio.sleep(0)  # exits on the loop's next turn, after its start was reported
                self._finish(int(arg))
                return

    def _finish(self, code: int) -> None:
        if not self._exit.done():
            self._exit.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    def signal(self, signum: int) -> None:
        self.signals.append(signum)
        if signum == signal.SIGKILL or not self._ignore_term:
            self._finish(128 + signum)


class FakeExecProcess:
    """An exec'd command that writes nothing and exits with the code its `exit:N` word names."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.code = next((int(word[5:]) for word in command if word.startswith("exit:")), 0)

    async def output(self) -> AsyncIterator[tuple[Stream, bytes]]:
        nothing: tuple[tuple[Stream, bytes], ...] = ()
        for item in nothing:
            yield item

    async def wait(self) -> int:
        return self.code


@dataclass
class FakeSandbox:
    name: str = "fake"
    started: list[FakeProcess] = field(default_factory=list)
    execs: list[tuple[ExecTarget, tuple[str, ...]]] = field(default_factory=list)

    async def start(self, spec: ProcessSpec, sink: LogSink) -> FakeProcess:
        process = FakeProcess(spec, sink, self)
        self.started.append(process)
        return process

    async def run(self, spec: ProcessSpec, timeout_seconds: float) -> tuple[int, bytes]:
        return 0, b""

    async def exec(self, target: ExecTarget, command: tuple[str, ...], *, stdin: bool, tty: bool) -> FakeExecProcess:
        if command[0] == "nope":
            raise ContainerStartError(
                'unable to start container process: exec: "nope": executable file not found in $PATH'
            )
        self.execs.append((target, command))
        return FakeExecProcess(command)


@dataclass
class FakeNetwork:
    host_ip: str = "10.0.0.1"
    torn_down: list[str] = field(default_factory=list)
    count: int = 0

    async def setup(self, pod_uid: str) -> PodNetwork:
        self.count += 1
        return PodNetwork(f"10.244.0.{self.count + 1}")

    async def teardown(self, pod_uid: str) -> None:
        self.torn_down.append(pod_uid)

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class Image:
    name: str
    mounts: tuple[ImageFile, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    rootfs: Path | None = None
    user: None = None
    runtime_paths: tuple[str, ...] = ()
    scratch_dirs: tuple[str, ...] | None = None
    image_id: str | None = None


@dataclass
class FakeImages:
    known: dict[str, Image] = field(default_factory=dict)

    def resolve(self, reference: str) -> Image | None:
        return self.known.get(reference)

    def present(self) -> list[str]:
        return sorted(self.known)


class FakeVolumes:
    async def prepare_volumes(self, pod: Body, *, store: Store, pod_dir: Path) -> dict[str, Path]:
        return {}

    def mounts_for(
        self, container: Body, volumes: Mapping[str, Path], *, env: Mapping[str, str] | None = None
    ) -> tuple[Mount, ...]:
        return ()


class FakeEnvironment:
    def resolve_env(
        self,
        pod: Body,
        container: Body,
        *,
        store: Store,
        pod_ips: Sequence[str] | None = None,
        host_ip: str | None = None,
    ) -> dict[str, str]:
        return {e["name"]: e["value"] for e in container.get("env") or []}

    def expand(self, values: Sequence[str], env: Mapping[str, str]) -> list[str]:
        return list(values)


@dataclass
class FakeHosts:
    directory: Path
    forgotten: list[str] = field(default_factory=list)

    def path_for(self, pod: Body, *, pod_ip: str | None = None) -> Path:
        path = self.directory / f"{pod['metadata']['uid']}-hosts"
        path.touch()
        return path

    def resolv_conf_for(self, pod: Body) -> Path:
        path = self.directory / f"{pod['metadata']['uid']}-resolv.conf"
        path.touch()
        return path

    def forget(self, pod_uid: str) -> None:
        self.forgotten.append(pod_uid)


@dataclass(frozen=True)
class Result:
    success: bool
    message: str


@dataclass
class FakeProbes:
    healthy: bool = False
    broken: bool = False

    async def run_probe(
        self,
        probe: Mapping[str, Any],
        *,
        pod_ip: str,
        exec_in: Callable[[Sequence[str], float], Awaitable[tuple[int, bytes]]],
        ports: Mapping[str, int] | None = None,
    ) -> Result:
        if self.broken:
            raise RuntimeError("the prober has a bug")
        return Result(self.healthy, "" if self.healthy else "not yet")


@dataclass
class FakeWriter:
    lines: list[bytes]

    def write(self, stream: Stream, line: bytes) -> None:
        self.lines.append(line)

    def close(self) -> None:
        return None


@dataclass
class FakeLogs:
    lines: dict[str, list[bytes]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def writer(self, pod_uid: str, container: str, restart_count: int, /) -> FakeWriter:
        return FakeWriter(self.lines.setdefault(container, []))

    async def remove(self, pod: Body) -> None:
        self.removed.append(pod["metadata"]["uid"])


@dataclass
class Node:
    """The running kubelet, its fakes, and every pod status it wrote (in order, from a watch)."""

    harness: Harness
    kubelet: Kubelet
    sandbox: FakeSandbox
    network: FakeNetwork
    images: FakeImages
    probes: FakeProbes
    logs: FakeLogs
    hosts: FakeHosts
    statuses: list[Body] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return self.harness.store

    def rt(self, resource: str) -> ResourceType:
        return self.harness.rt(resource)

    async def advance(self, seconds: float) -> None:
        await self.harness.advance(seconds)

    def create_pod(self, name: str, *containers: Body, policy: str = "Never", **spec: Any) -> Body:
        body = {
            "metadata": {"name": name},
            "spec": {"restartPolicy": policy, "containers": list(containers), **spec},
        }
        return self.store.create(self.rt("pods"), body, namespace=NS)

    def pod(self, name: str) -> Body:
        return self.store.get(self.rt("pods"), NS, name)

    def status(self, name: str) -> Body:
        """The pod's status, empty before the kubelet wrote one."""
        return dict(self.pod(name).get("status") or {})

    def exists(self, name: str) -> bool:
        return self.store.exists(self.rt("pods"), NS, name)

    def events(self, reason: str | None = None) -> list[Body]:
        items, _ = self.store.list(self.rt("events"), NS)
        return [e for e in items if reason is None or e["reason"] == reason]

    def seen(self, name: str) -> list[Body]:
        return [s for s in self.statuses if s["name"] == name]


def container(name: str, *argv: str, image: str = "busybox:1", **extra: Any) -> Body:
    return {"name": name, "image": image, "command": list(argv), **extra}


def phase(node: Node, name: str) -> str | None:
    return node.status(name).get("phase")


def on_node(test: Callable[[Node], Awaitable[None]]) -> Callable[[Path], None]:
    """Run `test` against a running kubelet on the in-process cluster; everything is stopped afterwards."""

    def run(tmp_path: Path) -> None:
        async def main() -> None:
            async with running(namespace=NS) as harness:
                node = _node(harness, tmp_path)
                harness.tasks.spawn("test/record", _record(harness.store, node.statuses))
                harness.tasks.spawn("test/kubelet", node.kubelet.run())
                try:
                    await test(node)
                finally:
                    await node.kubelet.close()

        asyncio.run(main())

    run.__name__ = test.__name__
    return run


async def _record(store: Store, statuses: list[Body]) -> None:
    pods = store.catalog.lookup("", "v1", "pods")
    async for event in tasks.follow(lambda: store.watch(pods), what="pods (test record)"):
        statuses.append(
            {"name": event.object["metadata"]["name"], "type": event.type, **(event.object.get("status") or {})}
        )


def _node(harness: Harness, tmp_path: Path) -> Node:
    store, clock = harness.store, harness.clock
    sandbox, network = FakeSandbox(), FakeNetwork()
    images = FakeImages({"busybox:1": Image("busybox:1")})
    probes, logs, hosts = FakeProbes(), FakeLogs(), FakeHosts(tmp_path)
    services = PodServices(
        images=images,
        volumes=FakeVolumes(),
        environment=FakeEnvironment(),
        hosts=hosts,
        probes=probes,
        logs=logs,
        events=Recorder(store, clock, "kubelet", NODE_NAME),
        scheduler_events=Recorder(store, clock, "default-scheduler"),
    )
    kubelet = Kubelet(
        store,
        clock,
        sandbox=sandbox,
        network=network,
        services=services,
        pods_root=tmp_path / "pods",
        tasks=harness.tasks,
        back_off_initial_seconds=BACK_OFF_INITIAL_SECONDS,
        heartbeat_seconds=HEARTBEAT_SECONDS,
        schedule_retry_seconds=SCHEDULE_RETRY_SECONDS,
    )
    return Node(harness, kubelet, sandbox, network, images, probes, logs, hosts)
