"""The seams between the kubelet's pod lifecycle and the machinery that runs processes.

Pod lifecycle code (pods.py) decides *what* runs; a :class:`Sandbox` decides *how* (bubblewrap,
or plain processes where no sandbox can be had) and a :class:`Network` gives each pod an address.
Tests inject their own implementations of these protocols instead of monkeypatching.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

Stream = Literal["stdout", "stderr"]
LogSink = Callable[[Stream, bytes], None]
SCRATCH_DIRS: tuple[str, ...] = ("/tmp",)
"""Where every container gets an empty tmpfs of its own."""
"""Receives each complete output line (without its newline) of a container, as it is written."""


@dataclass(frozen=True)
class Mount:
    """A host path bound into the container at `target`."""

    source: Path
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class PodNetwork:
    """A pod's address, and the named network namespace to enter (None when pods share the host's)."""

    ip: str
    netns: str | None = None


@dataclass(frozen=True)
class RunAs:
    """The user a container's process runs as, when it is not root."""

    uid: int
    gid: int
    groups: tuple[int, ...] = ()


@dataclass(frozen=True)
class ProcessSpec:
    """Everything needed to start one container process."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    workdir: str
    mounts: tuple[Mount, ...]
    hostname: str
    network: PodNetwork
    memory_limit_bytes: int | None = None
    scratch_dirs: tuple[str, ...] = field(default=SCRATCH_DIRS)
    root: Path | None = None
    """The image's own root filesystem (this run's writable copy); None: the host's root, read-only."""
    runtime_paths: tuple[str, ...] = ()
    """Host directories bound read-only at the same paths into an image's root (images/hostruntime.py)."""
    run_as: RunAs | None = None


class RunningProcess(Protocol):
    """A started container process."""

    pid: int

    async def wait(self) -> int:
        """The exit code; a process killed by signal N reports 128 + N, as container runtimes do."""
        ...

    def signal(self, signum: int) -> None:
        """Send a signal to the whole container (its process group), ignoring a process already gone."""
        ...


class RunningCommand(Protocol):
    """A command exec'd into a running container: raw output, input, a terminal's size, the exit code."""

    def output(self) -> AsyncIterator[tuple[Stream, bytes]]:
        """Chunks as the command writes them, until its outputs close."""
        ...

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    def resize(self, width: int, height: int) -> None: ...

    def hang_up(self) -> None: ...

    async def wait(self) -> int:
        """The exit code, 128 + N when killed by signal N."""
        ...


@dataclass(frozen=True)
class ExecTarget:
    """A running container that `pods/exec` starts a command in: how it was started, and its process."""

    spec: ProcessSpec
    process: RunningProcess


class Sandbox(Protocol):
    """Starts container processes; the only thing in the cluster that creates processes."""

    name: str

    async def start(self, spec: ProcessSpec, sink: LogSink) -> RunningProcess:
        """Start `spec`; raises ContainerStartError when the command cannot be started at all."""
        ...

    async def run(self, spec: ProcessSpec, timeout_seconds: float) -> tuple[int, bytes]:
        """Run a short command to completion (exec probes): exit code and combined output."""
        ...

    async def exec(self, target: ExecTarget, command: tuple[str, ...], *, stdin: bool, tty: bool) -> RunningCommand:
        """Start `command` inside the running container; ContainerStartError in runc's words when it cannot."""
        ...


class Network(Protocol):
    """Gives pods addresses; the host reaches every pod at its address (probes, port checks)."""

    host_ip: str

    async def setup(self, pod_uid: str) -> PodNetwork: ...

    async def teardown(self, pod_uid: str) -> None: ...

    async def close(self) -> None:
        """Remove everything this network created (bridges, namespaces)."""
        ...


class ContainerStartError(Exception):
    """The container's command could not be started (no such executable, bad working directory)."""
