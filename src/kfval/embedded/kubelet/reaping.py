"""Cleaning up after an earlier cluster that was killed before it could clean up after itself.

A SIGKILLed cluster cannot remove its network namespaces, its bridge or its memory cgroups, and
container processes that escaped the death-signal chain (plain mode: a container's own children)
keep running. A new cluster with the same state directory owns the same name prefix, so it can
find and remove all of that before it starts: host objects named `<prefix>...`, and the process
groups recorded in the sandbox's pid file, killed only when the recorded start time proves the
pid was not reused. Killing and removing are blocking host work, done in worker threads; waiting
for the killed processes to go happens between the two on the cluster's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from kfval.embedded.clock import Clock
from kfval.embedded.kubelet import cgroups, processes, sandbox

log = logging.getLogger(__name__)

GONE_TIMEOUT_SECONDS = 2.0
GONE_CHECK_SECONDS = 0.02


@dataclass(frozen=True)
class Reaped:
    """What `reap` removed, for the log and for tests."""

    process_groups: tuple[int, ...]
    namespaces: tuple[str, ...]
    links: tuple[str, ...]


@dataclass(frozen=True)
class Killed:
    """The recorded process groups that were ours and got SIGKILL, and every process signalled."""

    process_groups: tuple[int, ...]
    members: tuple[int, ...]


async def reap(state_dir: Path, clock: Clock) -> Reaped:
    """Kill the recorded leftover processes and remove the host objects of an earlier cluster on `state_dir`."""
    killed = await asyncio.to_thread(kill_recorded, state_dir / processes.PID_FILE)
    await until_gone(killed.members, clock)
    namespaces, links = await asyncio.to_thread(remove_host_objects, sandbox.cluster_prefix(state_dir))
    reaped = Reaped(killed.process_groups, namespaces, links)
    if killed.process_groups or namespaces or links:
        log.warning("reaped what an earlier cluster on %s left: %s", state_dir, reaped)
    return reaped


def remove_host_objects(prefix: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Delete the network namespaces, links and memory cgroups named `<prefix>...`: (namespaces, links)."""
    namespaces = tuple(name for name in list_namespaces() if name.startswith(prefix))
    for name in namespaces:
        sandbox.run_host_sync(["ip", "netns", "del", name])
    links = tuple(name for name in list_links() if name.startswith(prefix))
    for name in links:
        sandbox.run_host_sync(["ip", "link", "del", name])
    directory = cgroups.cluster_directory(prefix)
    if directory is not None:
        cgroups.remove_tree(directory[0])
    return namespaces, links


def kill_recorded(pid_file: Path) -> Killed:
    """SIGKILL each recorded process group whose members are provably ours; then forget the file."""
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return Killed((), ())
    groups: list[int] = []
    members: list[int] = []
    for line in lines:
        pid_text, _, started_text = line.partition(" ")
        with contextlib.suppress(ValueError):
            signalled = kill_group(int(pid_text), int(started_text))
            if signalled:
                groups.append(int(pid_text))
                members.extend(signalled)
    pid_file.unlink(missing_ok=True)
    return Killed(tuple(groups), tuple(members))


def kill_group(pgid: int, started: int) -> tuple[int, ...]:
    """SIGKILL the processes of group `pgid` started no earlier than its recorded leader; the pids signalled.

    A live leader with another start time means the pid was reused: nothing is ours then.
    """
    leader_started = processes.process_start_time(pgid)
    if leader_started is not None and leader_started != started:
        return ()
    members = tuple(
        pid
        for pid in processes.group_members(pgid)
        if (processes.process_start_time(pid) or 0) >= started and pid != os.getpid()
    )
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return members


async def until_gone(pids: tuple[int, ...], clock: Clock) -> None:
    """Wait until every one of `pids` has exited, at most GONE_TIMEOUT_SECONDS on `clock`."""
    deadline = clock.monotonic() + GONE_TIMEOUT_SECONDS
    while clock.monotonic() < deadline and any(alive(pid) for pid in pids):
        await clock.sleep(GONE_CHECK_SECONDS)


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie counts as gone: it holds no resources but its pid)."""
    fields = processes.stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def list_namespaces() -> list[str]:
    code, output = sandbox.run_host_sync(["ip", "netns", "list"])
    if code != 0:
        return []
    return [line.split()[0] for line in output.decode(errors="replace").splitlines() if line.strip()]


def list_links() -> list[str]:
    """Names of the host's network interfaces (`veth@peer` reduced to `veth`)."""
    code, output = sandbox.run_host_sync(["ip", "-o", "link", "show"])
    if code != 0:
        return []
    names = []
    for line in output.decode(errors="replace").splitlines():
        fields = line.split(":", 2)
        if len(fields) == 3:
            names.append(fields[1].strip().split("@", 1)[0])
    return names
