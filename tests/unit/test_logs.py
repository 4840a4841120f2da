"""Container logs: CRI files written like a node's, read back with the API's options and errors."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded.clock import SystemClock
from kfval.embedded.errors import BadRequestError, NotFoundError
from kfval.embedded.kubelet import logs
from kfval.embedded.kubelet.logs import ContainerLogs
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, LogQuery
from tests.support.clock import FakeClock
from tests.support.polling import eventually, settle

NS = "team"


def stopped_clock() -> FakeClock:
    """A clock at a moment with a fraction of a second, moved only by hand."""
    return FakeClock(datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC))


@pytest.fixture
def store() -> Store:
    store = Store(Catalog(), SystemClock())
    store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": NS}})
    return store


def _running(name: str, restarts: int = 0, **extra: Any) -> Body:
    return {"name": name, "restartCount": restarts, "state": {"running": {}}, **extra}


def _pod(store: Store, *names: str, statuses: list[Body] | None = None, node: str = "kfval-node") -> Body:
    body = {
        "metadata": {"name": "trainer", "namespace": NS},
        "spec": {"nodeName": node, "containers": [{"name": n} for n in names]},
        "status": {"containerStatuses": statuses if statuses is not None else [_running(n) for n in names]},
    }
    return store.create(store.catalog.lookup("", "v1", "pods"), body)


def _read(source: ContainerLogs, **query: Any) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in source.read(LogQuery(namespace=NS, pod="trainer", **query))])

    return asyncio.run(collect())


def test_writer_writes_cri_lines_where_a_node_keeps_them(store: Store, tmp_path: Path) -> None:
    pod = _pod(store, "main")
    source = ContainerLogs(tmp_path, stopped_clock(), store)
    writer = source.writer(pod, "main", 0)
    writer.write("stdout", b"epoch 1 loss=0.5")
    writer.write("stderr", b"warning")
    writer.close()
    uid = pod["metadata"]["uid"]
    path = tmp_path / f"{NS}_trainer_{uid}" / "main" / "0.log"
    assert path.read_text() == (
        "2026-01-02T03:04:05.12Z stdout F epoch 1 loss=0.5\n2026-01-02T03:04:05.12Z stderr F warning\n"
    )


def test_read_options(store: Store, tmp_path: Path) -> None:
    pod = _pod(store, "main")
    clock = stopped_clock()
    source = ContainerLogs(tmp_path, clock, store)
    writer = source.writer(pod["metadata"]["uid"], "main", 0)
    for i in range(5):
        writer.write("stdout", f"line {i}".encode())
        clock.move(10)
    writer.close()
    assert _read(source) == b"".join(f"line {i}\n".encode() for i in range(5))
    assert _read(source, tail_lines=2) == b"line 3\nline 4\n"
    assert _read(source, tail_lines=0) == b""
    assert _read(source, limit_bytes=9) == b"line 0\nli"
    assert _read(source, since_seconds=25) == b"line 3\nline 4\n"
    stamped = _read(source, timestamps=True, tail_lines=1).decode()
    assert stamped == "2026-01-02T03:04:45.120000000Z line 4\n"


def _bytes_read_by_this_process() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_tail_lines_reads_from_the_end_not_the_whole_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "TAIL_BLOCK_BYTES", 32)  # many small blocks: records straddle block edges
    pod = _pod(store, "main")
    source = ContainerLogs(tmp_path, stopped_clock(), store)
    path = source.path(pod, "main", 0)
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # a sparse 64 MiB head the tail must never read
    writer = source.writer(pod, "main", 0)
    writer.write("stdout", b"")
    for i in range(20):
        writer.write("stdout", f"line {i}".encode())
    writer.write("stdout", b"y" * (logs.CRI_MAX_LINE_BYTES + 5))
    writer.close()
    before = _bytes_read_by_this_process()
    text = _read(source, tail_lines=4)
    assert _bytes_read_by_this_process() - before < 16 * 1024 * 1024
    assert text == b"line 18\nline 19\n" + b"y" * (logs.CRI_MAX_LINE_BYTES + 5) + b"\n"
    assert _read(source, tail_lines=1) == b"y" * 5 + b"\n"  # a partial record counts as a line, as on a node


def test_long_lines_are_split_and_rejoined(store: Store, tmp_path: Path) -> None:
    pod = _pod(store, "main")
    source = ContainerLogs(tmp_path, stopped_clock(), store)
    writer = source.writer(pod, "main", 0)
    long_line = b"x" * (logs.CRI_MAX_LINE_BYTES + 10)
    writer.write("stdout", long_line)
    writer.close()
    assert re.findall(rb" stdout ([PF]) ", source.path(pod, "main", 0).read_bytes()) == [b"P", b"F"]
    assert _read(source) == long_line + b"\n"


def test_follow_streams_until_the_writer_closes(store: Store, tmp_path: Path) -> None:
    pod = _pod(store, "main")
    source = ContainerLogs(tmp_path, stopped_clock(), store)
    writer = source.writer(pod, "main", 0)
    writer.write("stdout", b"before")

    async def scenario() -> list[bytes]:
        chunks: list[bytes] = []

        async def follow() -> None:
            async for chunk in source.read(LogQuery(namespace=NS, pod="trainer", follow=True)):
                chunks.append(chunk)

        task = asyncio.create_task(follow())
        await eventually(lambda: chunks, "the follower's first chunk")
        writer.write("stdout", b"during")
        await eventually(lambda: b"during" in b"".join(chunks), "the line written while following")
        writer.write("stdout", b"last")
        writer.close()
        await asyncio.wait_for(task, 2)
        return chunks

    chunks = asyncio.run(scenario())
    assert b"".join(chunks) == b"before\nduring\nlast\n"
    assert len([c for c in chunks if c]) >= 2


def test_follow_ends_when_the_pod_is_deleted(store: Store, tmp_path: Path) -> None:
    pod = _pod(store, "main")
    clock = stopped_clock()
    source = ContainerLogs(tmp_path, clock, store)
    writer = source.writer(pod, "main", 0)
    writer.write("stdout", b"hello")

    async def scenario() -> bytes:
        async def follow() -> bytes:
            return b"".join([c async for c in source.read(LogQuery(namespace=NS, pod="trainer", follow=True))])

        task = asyncio.create_task(follow())
        await settle()  # the follower has read what is there and waits for more
        store.delete(store.catalog.lookup("", "v1", "pods"), NS, "trainer", grace_period_seconds=0)
        await clock.advance(logs.FOLLOW_CHECK_SECONDS)
        return await asyncio.wait_for(task, 2)

    assert asyncio.run(scenario()) == b"hello\n"
    writer.close()


def test_previous_instance(store: Store, tmp_path: Path) -> None:
    status = _running("main", 1, lastState={"terminated": {"exitCode": 1}})
    pod = _pod(store, "main", statuses=[status])
    source = ContainerLogs(tmp_path, stopped_clock(), store)
    first = source.writer(pod, "main", 0)
    first.write("stdout", b"crashed")
    first.close()
    second = source.writer(pod, "main", 1)
    second.write("stdout", b"second try")
    second.close()
    assert _read(source, previous=True) == b"crashed\n"
    assert _read(source) == b"second try\n"


def test_unscheduled_pod_has_empty_logs(store: Store, tmp_path: Path) -> None:
    _pod(store, "main", statuses=[], node="")
    assert _read(ContainerLogs(tmp_path, stopped_clock(), store)) == b""


@pytest.mark.parametrize(
    "case",
    [
        (["main"], None, {"container": "nope"}, BadRequestError, "container nope is not valid for pod trainer"),
        (
            ["a", "b"],
            None,
            {},
            BadRequestError,
            "a container name must be specified for pod trainer, choose one of: [a b]",
        ),
        (
            ["main"],
            [],
            {},
            BadRequestError,
            'container "main" in pod "trainer" is waiting to start: ContainerCreating',
        ),
        (
            ["main"],
            [{"name": "main", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}],
            {},
            BadRequestError,
            'container "main" in pod "trainer" is waiting to start: trying and failing to pull image',
        ),
        (
            ["main"],
            None,
            {"previous": True},
            BadRequestError,
            'previous terminated container "main" in pod "trainer" not found',
        ),
    ],
)
def test_errors_come_before_the_first_chunk(store: Store, tmp_path: Path, case: tuple[Any, ...]) -> None:
    names, statuses, query, error, message = case
    _pod(store, *names, statuses=statuses)
    with pytest.raises(error) as caught:
        _read(ContainerLogs(tmp_path, stopped_clock(), store), **query)
    assert str(caught.value) == message


def test_missing_pod_is_404(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match='pods "trainer" not found'):
        _read(ContainerLogs(tmp_path, stopped_clock(), store))


def test_remove_deletes_a_pods_logs(store: Store, tmp_path: Path) -> None:
    pod = _pod(store, "main")
    source = ContainerLogs(tmp_path, stopped_clock(), store)
    source.writer(pod, "main", 0).write("stdout", b"x")
    asyncio.run(source.remove(pod))
    assert not source.pod_dir(pod).exists()
    assert not source._states  # the writers' bookkeeping goes with the files
