"""Values every layer of the embedded cluster shares: raw bodies, resource types, watch events.

Kept free of behaviour so that the store, the API server, the controllers and the kubelet can
all depend on it without depending on each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NewType, Protocol

Body = dict[str, Any]
"""A Kubernetes object exactly as it travels as JSON (apiVersion, kind, metadata, spec, status)."""

Namespace = NewType("Namespace", str)
Name = NewType("Name", str)

EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]

ALL_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
CORE_GROUP = ""


@dataclass(frozen=True)
class PrinterColumn:
    """One column of `kubectl get` output (a CRD's additionalPrinterColumns entry)."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass(frozen=True)
class ResourceType:
    """One REST resource as discovery announces it: where it lives and what it is called."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: frozenset[str] = frozenset()
    printer_columns: tuple[PrinterColumn, ...] = ()
    schema: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        """`v1` for the core group, `group/version` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> ResourceKey:
        """The version-independent storage key: one object set per group and resource."""
        return ResourceKey(self.group, self.resource)

    @property
    def qualified(self) -> str:
        """`pods` or `deployments.apps`, as Status messages name a resource."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


@dataclass(frozen=True, order=True)
class ResourceKey:
    """Group and plural resource name: the store's unit of storage and of watching."""

    group: str
    resource: str


@dataclass(frozen=True)
class ObjectKey:
    """Where one object lives: its resource, namespace ("" when cluster-scoped) and name."""

    resource: ResourceKey
    namespace: str
    name: str


@dataclass(frozen=True)
class WatchEvent:
    """One change as the store records it; `object` is a snapshot that nobody may mutate."""

    type: EventType
    object: Body
    resource_version: int
    key: ResourceKey
    previous: Body | None = None
    """The object before a MODIFIED change: lets a filtered watch turn "no longer matches" into DELETED."""


@dataclass(frozen=True)
class LogQuery:
    """The `pods/log` parameters, as the API server parsed them."""

    namespace: str
    pod: str
    container: str | None = None
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: datetime | None = None
    limit_bytes: int | None = None


class LogSource(Protocol):
    """Where the API server reads container logs from (the kubelet), without importing it."""

    def read(self, query: LogQuery) -> AsyncIterator[bytes]:
        """Chunks of log text; raises ApiError (400/404) before the first chunk when it cannot serve."""
        ...


OutputStream = Literal["stdout", "stderr"]


@dataclass(frozen=True)
class ExecRequest:
    """One `pods/exec` call as the API server hands it to the node: where, what to run, which streams."""

    namespace: str
    pod: str
    uid: str
    container: str
    command: tuple[str, ...]
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    tty: bool = False


@dataclass(frozen=True)
class ExecResult:
    """How an exec ended: the command's exit code, or None when the runtime could not run it at all."""

    exit_code: int | None
    message: str = ""
    """The node's words for a failure: `error executing command [sh -c exit 3], exit code 3`, or why it never ran."""


class ExecSession(Protocol):
    """A command running in a container for `pods/exec`: the node's end of its streams."""

    def output(self) -> AsyncIterator[tuple[OutputStream, bytes]]:
        """What the command writes, chunk by chunk as it writes it, until its outputs close."""
        ...

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None:
        """No more input: the command reads end of file (a terminal is left open, as runtimes leave it)."""
        ...

    def resize(self, width: int, height: int) -> None:
        """The client's terminal changed size (ignored without a terminal)."""
        ...

    def hang_up(self) -> None:
        """The client went away: stdin ends, a terminal hangs up; the command may run on."""
        ...

    async def wait(self) -> ExecResult:
        """How the command ended; once `output` is exhausted."""
        ...


class Executor(Protocol):
    """Runs commands in running containers for the API server (the kubelet), without importing it."""

    async def exec(self, request: ExecRequest) -> ExecSession:
        """The started command; raises ApiError when the node refuses before any stream is opened."""
        ...


@dataclass(frozen=True)
class ContainerUsage:
    """One running container's CPU rate and working-set memory over a metrics window."""

    name: str
    cpu_nanocores: int
    memory_bytes: int


@dataclass(frozen=True)
class PodUsage:
    """What `metrics.k8s.io` reports for one pod: its running containers' usage, measured when and over how long."""

    namespace: str
    name: str
    uid: str
    timestamp: datetime
    window_seconds: float
    containers: tuple[ContainerUsage, ...]


@dataclass(frozen=True)
class NodeUsage:
    """What `metrics.k8s.io` reports for the node."""

    name: str
    timestamp: datetime
    window_seconds: float
    cpu_nanocores: int
    memory_bytes: int


class UsageSource(Protocol):
    """Where the API server reads resource usage from (the kubelet), as metrics-server scrapes it."""

    def pods(self) -> list[PodUsage]:
        """Every pod with a running container, measured now."""
        ...

    def node(self) -> NodeUsage: ...
