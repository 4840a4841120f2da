"""Memory limits for container processes, where the machine lets us set them.

A container with `resources.limits.memory` must be OOM-killed like on a node, and the kubelet
must then report reason OOMKilled. Each such container gets its own memory cgroup, under a
directory named for this cluster (`kfval-<prefix>`): cgroup v2 (`memory.max`, counted in
`memory.events`) at the root of the unified hierarchy, or cgroup v1 (`memory.limit_in_bytes`,
counted in `memory.oom_control`) nested under the cluster's own memory cgroup so that any limit
the cluster itself runs under still applies. Where neither is writable, limits are only recorded
and a warning says so once.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class MemoryCgroup:
    """One container's memory cgroup: join it through `procs`, read its OOM kills, remove it."""

    path: Path
    events_file: str

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def oom_kills(self) -> int:
        with contextlib.suppress(OSError):
            for line in (self.path / self.events_file).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def remove(self) -> bool:
        """Remove the cgroup; False while exiting processes still hold it (the caller retries)."""
        try:
            self.path.rmdir()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True


def own_v1_memory_path() -> Path | None:
    """The cgroup v1 memory directory this process runs in, None without a v1 memory controller."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return CGROUP_ROOT / "memory" / path.lstrip("/")
    return None


def cluster_directory(prefix: str) -> tuple[Path, str] | None:
    """Where this cluster's memory cgroups live and the file counting OOM kills, None when unavailable."""
    name = f"kfval-{prefix.rstrip('-')}"
    unified = CGROUP_ROOT / "cgroup.controllers"
    if unified.exists() and "memory" in unified.read_text().split():
        return CGROUP_ROOT / name, "memory.events"
    v1 = own_v1_memory_path()
    if v1 is not None and (v1 / "memory.limit_in_bytes").exists():
        return v1 / name, "memory.oom_control"
    return None


class MemoryCgroups:
    """Creates per-container memory cgroups for one cluster, or records limits only."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._directory = cluster_directory(prefix)
        self._warned = False

    def create(self, name: str, limit_bytes: int) -> MemoryCgroup | None:
        """A cgroup that enforces `limit_bytes`, None (with one warning) where that cannot be had."""
        try:
            return self._create(name, limit_bytes)
        except OSError as error:
            if not self._warned:
                log.warning("memory limits are recorded but not enforced: %s", error)
                self._warned = True
            return None

    def _create(self, name: str, limit_bytes: int) -> MemoryCgroup:
        if self._directory is None:
            raise OSError("no writable memory cgroup controller on this machine")
        parent, events_file = self._directory
        parent.mkdir(exist_ok=True)
        path = parent / name
        path.mkdir(exist_ok=True)
        if events_file == "memory.events":
            (parent / "cgroup.subtree_control").write_text("+memory")
            (path / "memory.max").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):
                (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
        return MemoryCgroup(path, events_file)

    def holding(self, pid: int) -> MemoryCgroup | None:
        """This cluster's memory cgroup that `pid` runs in, None if another: an exec joins its container's."""
        if self._directory is None:
            return None
        parent, events_file = self._directory
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None
        unified = events_file == "memory.events"
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if unified and not controllers:
                directory = CGROUP_ROOT / path.lstrip("/")
            elif not unified and "memory" in controllers.split(","):
                directory = CGROUP_ROOT / "memory" / path.lstrip("/")
            else:
                continue
            if directory.parent == parent:
                return MemoryCgroup(directory, events_file)
        return None

    def close(self) -> None:
        """Remove the cluster's cgroup directory and any empty container cgroups left in it."""
        if self._directory is not None:
            remove_tree(self._directory[0])


def remove_tree(directory: Path) -> None:
    """Remove empty cgroup directories bottom-up (cgroup files cannot be unlinked, only dirs)."""
    if not directory.is_dir():
        return
    for child in directory.iterdir():
        if child.is_dir():
            remove_tree(child)
    with contextlib.suppress(OSError):
        os.rmdir(directory)
