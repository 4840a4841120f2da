"""Cleaning up after an earlier cluster that was killed before it could clean up after itself.

A SIGKILLed cluster cannot remove its network namespaces, its bridge or its memory cgroups, and
container processes that escaped the death-signal chain (plain mode: a container's own children)
keep running. A new cluster with the same state directory owns the same name prefix, so it can
find and remove all of that before it starts: host objects named `<prefix>...`, and the process
groups recorded in the sandbox's pid file, killed only when the recorded start time proves the
pid was not reused. The work is blocking (host commands, waiting for killed processes to go), so
code on the event loop calls `reap`, which does it in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from kfval.embedded.kubelet import cgroups, processes, sandbox

log = logging.getLogger(__name__)

GONE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Reaped:
    """What `reap_leftovers` removed, for the log and for tests."""

    process_groups: tuple[int, ...]
    namespaces: tuple[str, ...]
    links: tuple[str, ...]


async def reap(state_dir: Path) -> Reaped:
    """`reap_leftovers` in a worker thread, for callers on the event loop."""
    return await asyncio.to_thread(reap_leftovers, state_dir)


def reap_leftovers(state_dir: Path) -> Reaped:
    """Kill the recorded leftover processes and remove the host objects of an earlier cluster on `state_dir`."""
    prefix = sandbox.cluster_prefix(state_dir)
    killed = kill_recorded(state_dir / processes.PID_FILE)
    namespaces = tuple(name for name in list_namespaces() if name.startswith(prefix))
    for name in namespaces:
        sandbox.run_host_sync(["ip", "netns", "del", name])
    links = tuple(name for name in list_links() if name.startswith(prefix))
    for name in links:
        sandbox.run_host_sync(["ip", "link", "del", name])
    directory = cgroups.cluster_directory(prefix)
    if directory is not None:
        cgroups.remove_tree(directory[0])
    reaped = Reaped(killed, namespaces, links)
    if killed or namespaces or links:
        log.warning("reaped what an earlier cluster on %s left: %s", state_dir, reaped)
    return reaped


def kill_recorded(pid_file: Path) -> tuple[int, ...]:
    """SIGKILL each recorded process group whose members are provably ours; then forget the file."""
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return ()
    killed = []
    for line in lines:
        pid_text, _, started_text = line.partition(" ")
        with contextlib.suppress(ValueError):
            if kill_group(int(pid_text), int(started_text)):
                killed.append(int(pid_text))
    pid_file.unlink(missing_ok=True)
    return tuple(killed)


def kill_group(pgid: int, started: int) -> bool:
    """Kill the processes of group `pgid` started no earlier than its recorded leader.

    A live leader with another start time means the pid was reused: nothing is ours then.
    """
    leader_started = processes.process_start_time(pgid)
    if leader_started is not None and leader_started != started:
        return False
    members = [
        pid
        for pid in processes.group_members(pgid)
        if (processes.process_start_time(pid) or 0) >= started and pid != os.getpid()
    ]
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + GONE_TIMEOUT_SECONDS
    while time.monotonic() < deadline and any(alive(pid) for pid in members):
        time.sleep(0.02)
    return bool(members)


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
