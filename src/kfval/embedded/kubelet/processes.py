"""Running container processes as the kubelet sees them: output lines, exit codes, signals.

What a container runtime reports is not what the kernel reports: a process killed by signal N
exits 128 + N, output arrives as lines, and a signal meant for "the container" must reach every
process in it (but not bubblewrap's monitor, which would take the namespace down with SIGKILL).
The pids of running containers are also kept in a file so that a later cluster can reap what a
killed one left behind (`reaping.py`). Processes are started only by `sandbox.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal as signals
from pathlib import Path

from kfval.embedded.clock import Clock, within
from kfval.embedded.kubelet import cgroups
from kfval.embedded.kubelet.containers import LogSink, Stream

log = logging.getLogger(__name__)

READ_CHUNK_BYTES = 65536
MAX_LINE_BYTES = 65536
PID_FILE = "sandbox.pids"
CGROUP_REMOVE_ATTEMPTS = 100
CGROUP_REMOVE_INTERVAL_SECONDS = 0.02
STREAMS: tuple[Stream, Stream] = ("stdout", "stderr")


def process_start_time(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), None if gone."""
    fields = stat_fields(pid)
    return int(fields[19]) if fields else None


def process_group(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[2]) if fields else None


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state is [0])."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """The live processes whose parent is `pid`: bubblewrap's monitor has one, the sandbox's init."""
    found = []
    for entry in os.listdir("/proc"):
        fields = stat_fields(int(entry)) if entry.isdigit() else None
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def group_members(pgid: int) -> list[int]:
    """Every live process whose process group is `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and process_group(int(entry)) == pgid:
            members.append(int(entry))
    return members


class PidRegistry:
    """The pids (with start times) of running containers, kept in a file for the reaper."""

    def __init__(self, state_dir: Path | None) -> None:
        self.path = state_dir / PID_FILE if state_dir is not None else None
        self._entries: dict[int, int] = {}

    def add(self, pid: int) -> None:
        started = process_start_time(pid)
        if started is not None:
            self._entries[pid] = started
            self._save()

    def discard(self, pid: int) -> None:
        if self._entries.pop(pid, None) is not None:
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text("".join(f"{pid} {started}\n" for pid, started in self._entries.items()))
        partial.replace(self.path)


class ContainerProcess:
    """A started container: its output is pumped to the sink, its exit reported as a container runtime does."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        sink: LogSink,
        *,
        registry: PidRegistry,
        cgroup: cgroups.MemoryCgroup | None,
        wrapped: bool,
        clock: Clock,
    ) -> None:
        self.pid = process.pid
        self.oom_killed = False
        self._process = process
        self._registry = registry
        self._cgroup = cgroup
        self._wrapped = wrapped
        self._clock = clock
        self._exit_code: int | None = None
        self._pumps = [
            asyncio.get_running_loop().create_task(pump(stream, name, sink), name=f"container {self.pid} {name}")
            for name, stream in zip(STREAMS, (process.stdout, process.stderr), strict=True)
            if stream is not None
        ]
        registry.add(self.pid)

    async def wait(self) -> int:
        if self._exit_code is None:
            returncode = await self._process.wait()
            await self._drain_pumps()
            if self._exit_code is None:
                self._finish(returncode)
                await self._release_cgroup()
        assert self._exit_code is not None
        return self._exit_code

    async def _drain_pumps(self) -> None:
        """Wait for the output pumps; one that failed is logged (the container's log is incomplete then)."""
        results = await asyncio.gather(*self._pumps, return_exceptions=True)
        for task, result in zip(self._pumps, results, strict=True):
            if isinstance(result, Exception):
                log.error("%s failed: the container's log misses output", task.get_name(), exc_info=result)

    def _finish(self, returncode: int) -> None:
        self._exit_code = 128 - returncode if returncode < 0 else returncode
        self._registry.discard(self.pid)
        if self._cgroup is not None:
            self.oom_killed = self._cgroup.oom_kills() > 0

    async def _release_cgroup(self) -> None:
        """Remove the memory cgroup once the namespace's last (exiting) process has left it."""
        cgroup = self._cgroup
        if cgroup is None:
            return
        for _ in range(CGROUP_REMOVE_ATTEMPTS):
            if cgroup.remove():
                return
            await self._clock.sleep(CGROUP_REMOVE_INTERVAL_SECONDS)
        log.warning("memory cgroup %s is still busy; the reaper removes it later", cgroup.path)

    def signal(self, signum: int) -> None:
        """Signal every process of the container; bubblewrap's own monitor only on SIGKILL.

        bubblewrap's outer process dies of SIGTERM at once and takes the namespace down with
        SIGKILL, so a graceful signal goes to the container's processes only.
        """
        if self._process.returncode is not None:
            return
        if signum == signals.SIGKILL or not self._wrapped:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signum)
            return
        for member in group_members(self.pid):
            if member != self.pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(member, signum)


async def pump(stream: asyncio.StreamReader, name: Stream, sink: LogSink) -> None:
    """Hand each line of `stream` to the sink as it arrives; a partial last line is flushed at EOF."""
    pending = b""
    while chunk := await stream.read(READ_CHUNK_BYTES):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if len(pending) > MAX_LINE_BYTES:
            lines.append(pending)
            pending = b""
        for line in lines:
            deliver(sink, name, line)
    if pending:
        deliver(sink, name, pending)


def deliver(sink: LogSink, name: Stream, line: bytes) -> None:
    try:
        sink(name, line)
    except Exception:
        log.exception("log sink failed on a %s line", name)


class HostDaemon:
    """A long-running host service of the cluster (not a container): stopped with SIGTERM, then SIGKILL."""

    def __init__(self, process: asyncio.subprocess.Process, *, registry: PidRegistry, clock: Clock) -> None:
        self.pid = process.pid
        self._process = process
        self._registry = registry
        self._clock = clock
        registry.add(self.pid)

    @property
    def exit_code(self) -> int | None:
        """None while it runs."""
        return self._process.returncode

    async def stop(self, grace_seconds: float) -> int:
        """Ask it to stop, kill it after `grace_seconds` on the cluster's clock; its exit code."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()
            try:
                await within(self._clock, asyncio.shield(self._process.wait()), grace_seconds)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signals.SIGKILL)
        code = await self._process.wait()
        self._registry.discard(self.pid)
        return code
