"""Container logs in the files and format a real node keeps, served back for `pods/log`.

Each container instance writes `<pods_root>/<ns>_<pod>_<uid>/<container>/<restartCount>.log` in the
CRI format (`<RFC3339Nano> <stream> <P|F> <text>`), so `--previous` finds the instance before a
restart and evidence collection can read the files directly. Reading applies the kubelet's rules
(tailLines, sinceSeconds, limitBytes, timestamps) and its error wording; `follow` streams until the
instance's writer is closed or the pod is deleted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from kfval.embedded.clock import Clock, parse_rfc3339, wait_event
from kfval.embedded.errors import BadRequestError, NotFoundError
from kfval.embedded.kubelet.containers import Stream
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, LogQuery

CRI_MAX_LINE_BYTES = 16 * 1024
"""Longer lines are split into partial (P) records, as container runtimes do."""
FOLLOW_CHECK_SECONDS = 1.0
"""How often (on the cluster's clock) a follower with nothing new checks that the pod still exists."""
TAIL_BLOCK_BYTES = 64 * 1024
"""`tailLines` reads the file backwards in blocks of this size, never the whole file."""
_PULL_WORDS = {"ErrImagePull": "image can't be pulled", "ImagePullBackOff": "trying and failing to pull image"}


def cri_timestamp(moment: datetime) -> str:
    """Go's RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    utc = moment.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def fixed_timestamp(cri: str) -> str:
    """The kubelet's `--timestamps` form: always nine fraction digits."""
    stamp, _, zone = cri.rstrip("Z").partition("+")
    seconds, _, fraction = stamp.partition(".")
    return f"{seconds}.{fraction.ljust(9, '0')[:9]}" + (f"+{zone}" if zone else "Z")


def _parse_cri_time(cri: str) -> datetime:
    seconds, _, rest = cri.partition(".")
    fraction = rest.rstrip("Z")[:6]
    return parse_rfc3339(f"{seconds}.{fraction or '0'}Z")


@dataclass
class _LogState:
    """A log file being written: followers wait on their events until the writer closes."""

    open: bool = True
    waiters: set[asyncio.Event] = field(default_factory=set)
    writer: LogWriter | None = None

    def notify(self) -> None:
        for waiter in self.waiters:
            waiter.set()


class LogWriter:
    """Appends one container instance's output lines to its CRI log file."""

    def __init__(self, path: Path, clock: Clock, *, state: _LogState) -> None:
        self.path = path
        self._clock = clock
        self._state = state
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: BinaryIO | None = path.open("ab", buffering=0)
        state.writer = self

    def write(self, stream: Stream, line: bytes) -> None:
        """Append one line (without its newline); usable directly as the sandbox's LogSink."""
        if self._handle is None:
            return
        stamp = cri_timestamp(self._clock.now()).encode()
        chunks = [line[i : i + CRI_MAX_LINE_BYTES] for i in range(0, len(line), CRI_MAX_LINE_BYTES)] or [b""]
        records = [
            b"%s %s %s %s\n" % (stamp, stream.encode(), b"F" if i == len(chunks) - 1 else b"P", chunk)
            for i, chunk in enumerate(chunks)
        ]
        self._handle.write(b"".join(records))
        self._state.notify()

    def close(self) -> None:
        """The instance has ended: followers read what is left and finish."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._state.open = False
        self._state.notify()


@dataclass(frozen=True)
class _Record:
    timestamp: str
    stream: str
    partial: bool
    text: bytes


def _parse(data: bytes) -> list[_Record]:
    records = []
    for raw in data.splitlines():
        parts = raw.split(b" ", 3)
        if len(parts) < 3:
            continue
        text = parts[3] if len(parts) == 4 else b""
        records.append(_Record(parts[0].decode(), parts[1].decode(), parts[2].startswith(b"P"), text))
    return records


def _containers(pod: Body) -> list[Body]:
    spec = pod.get("spec") or {}
    return [
        *(spec.get("initContainers") or []),
        *(spec.get("containers") or []),
        *(spec.get("ephemeralContainers") or []),
    ]


def _container_name(pod: Body, wanted: str | None) -> str:
    """The container a log request means, with the API server's 400s."""
    name = pod["metadata"]["name"]
    if wanted:
        if not any(c.get("name") == wanted for c in _containers(pod)):
            raise BadRequestError(f"container {wanted} is not valid for pod {name}")
        return wanted
    regular = (pod.get("spec") or {}).get("containers") or []
    if len(regular) == 1:
        return str(regular[0].get("name", ""))
    if not regular:
        raise BadRequestError(f"a container name must be specified for pod {name}")
    names = " ".join(str(c.get("name", "")) for c in _containers(pod))
    raise BadRequestError(f"a container name must be specified for pod {name}, choose one of: [{names}]")


def _container_status(pod: Body, container: str) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or []:
            if entry.get("name") == container:
                return dict(entry)
    return None


def _instance(pod: Body, container: str, *, previous: bool) -> int:
    """Which restart's log to read, with the kubelet's 400s for a container without one."""
    where = f'container "{container}" in pod "{pod["metadata"]["name"]}"'
    status = _container_status(pod, container)
    if status is None:
        raise BadRequestError(f"{where} is waiting to start: ContainerCreating")
    state, last = status.get("state") or {}, status.get("lastState") or {}
    restarts = int(status.get("restartCount") or 0)
    if previous:
        if last.get("terminated") is None:
            raise BadRequestError(f"previous terminated {where} not found")
        return restarts - 1
    if state.get("running") is not None or state.get("terminated") is not None:
        return restarts
    if last.get("terminated") is not None:
        return restarts - 1
    if state.get("waiting") is not None:
        reason = state["waiting"].get("reason") or ""
        raise BadRequestError(f"{where} is waiting to start: {_PULL_WORDS.get(reason, reason)}")
    raise BadRequestError(f"{where} is waiting to start - no logs yet")


class _Budget:
    """limitBytes across the whole response."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def take(self, data: bytes) -> bytes:
        if self.left is None:
            return data
        data = data[: max(0, self.left)]
        self.left -= len(data)
        return data

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0


def _tail_window(handle: BinaryIO, lines: int) -> tuple[int, int]:
    """(start, end) offsets of the last `lines` complete records, found reading backwards block by block."""
    position = handle.seek(0, os.SEEK_END)
    end: int | None = None
    newlines = 0
    while position > 0:
        size = min(TAIL_BLOCK_BYTES, position)
        position -= size
        handle.seek(position)
        block = handle.read(size)
        index = len(block)
        while (index := block.rfind(b"\n", 0, index)) >= 0:
            end = position + index + 1 if end is None else end
            newlines += 1
            if newlines > lines:
                return position + index + 1, end
    return 0, end or 0


class _Reader:
    """Reads one log file from an offset on, rendering records as the kubelet's log writer does."""

    def __init__(self, path: Path, query: LogQuery, *, since: datetime | None) -> None:
        self._path = path
        self._query = query
        self._since = since
        self._offset = 0

    def _new_bytes(self) -> bytes:
        try:
            with self._path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return b""
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        return complete

    def _render(self, records: list[_Record]) -> bytes:
        out = []
        for record in records:
            if self._since is not None and _parse_cri_time(record.timestamp) < self._since:
                continue
            prefix = f"{fixed_timestamp(record.timestamp)} ".encode() if self._query.timestamps else b""
            out.append(prefix + record.text + (b"" if record.partial else b"\n"))
        return b"".join(out)

    def first(self) -> bytes:
        """Everything written so far, after tailLines."""
        tail = self._query.tail_lines
        if tail is None or tail < 0:
            return self._render(_parse(self._new_bytes()))
        try:
            with self._path.open("rb") as handle:
                start, end = _tail_window(handle, tail)
                handle.seek(start)
                data = handle.read(end - start)
        except FileNotFoundError:
            return b""
        self._offset = end
        return self._render(_parse(data))

    def more(self) -> bytes:
        """What was written since the last read."""
        return self._render(_parse(self._new_bytes()))


class ContainerLogs:
    """Where container instances write their logs and where `pods/log` reads them (a LogSource)."""

    def __init__(self, pods_root: Path, clock: Clock, store: Store) -> None:
        self._root = pods_root
        self._clock = clock
        self._store = store
        self._states: dict[Path, _LogState] = {}
        self._pods = store.catalog.lookup("", "v1", "pods")

    def pod_dir(self, pod: Body) -> Path:
        meta = pod["metadata"]
        return self._root / f"{meta.get('namespace', '')}_{meta['name']}_{meta['uid']}"

    def path(self, pod: Body, container: str, restart_count: int) -> Path:
        return self.pod_dir(pod) / container / f"{restart_count}.log"

    def _pod_by_uid(self, uid: str) -> Body:
        found, _ = self._store.list(self._pods, predicate=lambda pod: pod["metadata"].get("uid") == uid)
        if not found:
            raise NotFoundError(f'pod with uid "{uid}" not found')
        return found[0]

    def writer(self, pod: Body | str, container: str, restart_count: int) -> LogWriter:
        """A writer for one instance (restart_count = the instance's restartCount, 0 for the first).

        `pod` is the pod body, or its uid (then the pod is looked up in the store).
        """
        body = self._pod_by_uid(pod) if isinstance(pod, str) else pod
        path = self.path(body, container, restart_count)
        previous = self._states.get(path)
        if previous is not None and previous.writer is not None:
            previous.writer.close()
        state = self._states[path] = _LogState()
        return LogWriter(path, self._clock, state=state)

    async def remove(self, pod: Body) -> None:
        """Delete a pod's logs and forget their writers (the kubelet's garbage collection once the pod is gone)."""
        directory = self.pod_dir(pod)
        for path in [p for p in self._states if p.is_relative_to(directory)]:
            state = self._states.pop(path)
            if state.writer is not None:
                state.writer.close()
            state.open = False
            state.notify()
        await asyncio.to_thread(shutil.rmtree, directory, ignore_errors=True)

    def _open_state(self, path: Path) -> _LogState | None:
        state = self._states.get(path)
        return state if state is not None and state.open else None

    def _pod_alive(self, query: LogQuery, uid: str) -> bool:
        if not self._store.exists(self._pods, query.namespace, query.pod):
            return False
        return bool(self._store.get(self._pods, query.namespace, query.pod)["metadata"].get("uid") == uid)

    async def read(self, query: LogQuery) -> AsyncIterator[bytes]:
        """The log text of the requested instance; every 400/404 is raised before the first chunk.

        The first chunk may be empty: it means "the checks passed", so the API server can send its
        headers before a followed container writes anything.
        """
        pod = self._store.get(self._pods, query.namespace, query.pod)
        container = _container_name(pod, query.container)
        if not (pod.get("spec") or {}).get("nodeName"):
            return
        path = self.path(pod, container, _instance(pod, container, previous=query.previous))
        since = query.since_time
        if query.since_seconds is not None:
            since = self._clock.now() - timedelta(seconds=query.since_seconds)
        reader, budget = _Reader(path, query, since=since), _Budget(query.limit_bytes)
        following = query.follow and not query.previous and self._open_state(path) is not None
        state = self._open_state(path) if following else None
        chunk = budget.take(reader.first())
        yield chunk
        if state is None or budget.spent:
            return
        async for more in self._follow(reader, state, query=query, uid=pod["metadata"]["uid"]):
            data = budget.take(more)
            if data:
                yield data
            if budget.spent:
                return

    async def _follow(self, reader: _Reader, state: _LogState, *, query: LogQuery, uid: str) -> AsyncIterator[bytes]:
        waiter = asyncio.Event()
        state.waiters.add(waiter)
        try:
            while True:
                waiter.clear()
                ended = not state.open
                data = reader.more()
                if data:
                    yield data
                if ended:
                    return
                if not await wait_event(self._clock, waiter, FOLLOW_CHECK_SECONDS) and not self._pod_alive(query, uid):
                    return
        finally:
            state.waiters.discard(waiter)
