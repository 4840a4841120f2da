"""What the pod lifecycle needs from the kubelet's other parts, stated as protocols.

The pod workers decide which status comes next; images, volumes, environment, /etc/hosts, probes,
logs and events are other modules' business. Naming only the calls made here keeps the lifecycle
testable with small fakes, and lets the runner pass the real modules and objects unchanged (a
module satisfies a protocol of functions). Events go through a protocol too because the event
recorder lives with the controllers, a layer the kubelet may not import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kfval.embedded.kubelet.containers import Mount, Stream
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

ExecIn = Callable[[Sequence[str], float], Awaitable[tuple[int, bytes]]]
"""Runs a command inside the container with a timeout: (exit code, combined output)."""


class ImageFile(Protocol):
    @property
    def source(self) -> Path: ...

    @property
    def target(self) -> str: ...


class ImageContent(Protocol):
    """What an image adds to a container: files laid over the runtime, and its config."""

    @property
    def name(self) -> str: ...

    @property
    def mounts(self) -> Sequence[ImageFile]: ...

    @property
    def env(self) -> Mapping[str, str]: ...

    @property
    def workdir(self) -> str | None: ...

    @property
    def entrypoint(self) -> Sequence[str] | None: ...

    @property
    def cmd(self) -> Sequence[str] | None: ...

    @property
    def rootfs(self) -> Path | None:
        """The image's own root filesystem (an image of the registry); None: the host's root stands in."""
        ...

    @property
    def user(self) -> ImageUser | None: ...

    @property
    def runtime_paths(self) -> Sequence[str]: ...

    @property
    def scratch_dirs(self) -> Sequence[str] | None: ...

    @property
    def image_id(self) -> str | None: ...


class ImageUser(Protocol):
    """The image's USER, resolved against its own /etc/passwd and /etc/group."""

    @property
    def uid(self) -> int: ...

    @property
    def gid(self) -> int: ...

    @property
    def groups(self) -> Sequence[int]: ...


class Images(Protocol):
    def resolve(self, reference: str) -> ImageContent | None:
        """The image's content, or None when no such image exists anywhere (a pull error)."""
        ...

    def present(self) -> Sequence[str]:
        """The references of the images this node holds without a pull (its `status.images`)."""
        ...


class Volumes(Protocol):
    async def prepare_volumes(self, pod: Body, *, store: Store, pod_dir: Path) -> dict[str, Path]: ...

    def mounts_for(
        self, container: Body, volumes: Mapping[str, Path], *, env: Mapping[str, str] | None = None
    ) -> tuple[Mount, ...]: ...


class Environment(Protocol):
    def resolve_env(
        self,
        pod: Body,
        container: Body,
        *,
        store: Store,
        pod_ips: Sequence[str] | None = None,
        host_ip: str | None = None,
    ) -> dict[str, str]: ...

    def expand(self, values: Sequence[str], env: Mapping[str, str]) -> list[str]: ...


class HostsFiles(Protocol):
    def path_for(self, pod: Body, *, pod_ip: str | None = None) -> Path: ...

    def resolv_conf_for(self, pod: Body) -> Path: ...

    def forget(self, pod_uid: str) -> None: ...


class ProbeResult(Protocol):
    @property
    def success(self) -> bool: ...

    @property
    def message(self) -> str: ...


class Probes(Protocol):
    async def run_probe(
        self, probe: Mapping[str, Any], *, pod_ip: str, exec_in: ExecIn, ports: Mapping[str, int] | None = None
    ) -> ProbeResult: ...


class LogWriter(Protocol):
    def write(self, stream: Stream, line: bytes) -> None: ...

    def close(self) -> None: ...


class ContainerLogs(Protocol):
    def writer(self, pod_uid: str, container: str, restart_count: int, /) -> LogWriter: ...

    async def remove(self, pod: Body) -> None:
        """Delete a deleted pod's log files."""
        ...


class EventRecording(Protocol):
    """The controllers' Recorder, as the kubelet and the scheduler use it."""

    def event(self, involved: Body, type_: str, reason: str, message: str, *, field_path: str = "") -> None: ...


@dataclass(frozen=True)
class PodServices:
    """Everything a pod worker calls besides the store, the sandbox and the network."""

    images: Images
    volumes: Volumes
    environment: Environment
    hosts: HostsFiles
    probes: Probes
    logs: ContainerLogs
    events: EventRecording
    """Recorder(store, clock, "kubelet", node_name)."""
    scheduler_events: EventRecording
    """Recorder(store, clock, "default-scheduler")."""
