"""What a container's processes cost the machine, read from the kernel's process accounting.

metrics-server reports a pod's CPU and working-set memory from the container runtime's cgroups.
The embedded kubelet gives a container a cgroup only when it sets a memory limit (`cgroups.py`),
so the honest common measure is the container's process tree in /proc: every process descended
from the container's first pid (the sandbox's chain execs in place, so that pid is bubblewrap,
whose PID namespace holds the whole container). CPU is user + system time of the live processes
plus what they collected from children that already exited (`cutime`/`cstime`), so a short-lived
helper process is still counted once its parent reaped it; memory is the resident set of the live
processes, the nearest /proc has to the cgroup's working set (shared pages count in each process).
The node's figures come from /proc/stat and /proc/meminfo, as the root cgroup would give them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kfval.embedded.kubelet import processes

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
NANOSECONDS_PER_TICK = 1_000_000_000 // CLOCK_TICKS_PER_SECOND
_UTIME, _STIME, _CUTIME, _CSTIME, _RSS = 11, 12, 13, 14, 21
"""Indexes into `processes.stat_fields` (fields 14, 15, 16, 17 and 24 of /proc/<pid>/stat)."""
_BUSY_CPU_FIELDS = (0, 1, 2, 5, 6, 7)
"""user, nice, system, irq, softirq, steal of /proc/stat's `cpu` line: what is not idle or iowait."""


@dataclass(frozen=True)
class Usage:
    """Cumulative CPU time and current memory of a set of processes."""

    cpu_nanoseconds: int
    memory_bytes: int


def process_table() -> dict[int, list[str]]:
    """Every live process's stat fields, read once, by pid."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = processes.stat_fields(int(entry))
            if fields is not None:
                table[int(entry)] = fields
    return table


def descendants(root: int, table: Mapping[int, list[str]]) -> list[int]:
    """`root` and every live process below it."""
    children: dict[int, list[int]] = {}
    for pid, fields in table.items():
        children.setdefault(int(fields[1]), []).append(pid)
    found, pending = [], [root] if root in table else []
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, ()))
    return found


def tree_usage(root: int, table: Mapping[int, list[str]]) -> Usage:
    """What the process tree under `root` has used: CPU since it started, resident memory now."""
    return summed(table[pid] for pid in descendants(root, table))


def summed(stats: Iterable[list[str]]) -> Usage:
    ticks = rss_pages = 0
    for fields in stats:
        ticks += sum(int(fields[index]) for index in (_UTIME, _STIME, _CUTIME, _CSTIME))
        rss_pages += int(fields[_RSS])
    return Usage(ticks * NANOSECONDS_PER_TICK, rss_pages * PAGE_BYTES)


def node_usage() -> Usage:
    """The whole machine: busy CPU time since boot and memory in use (total less available)."""
    cpu_line = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = sum(int(cpu_line[index]) for index in _BUSY_CPU_FIELDS if index < len(cpu_line))
    meminfo = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        meminfo[key] = int(value.split()[0]) * 1024
    used = meminfo.get("MemTotal", 0) - meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
    return Usage(ticks * NANOSECONDS_PER_TICK, used)
