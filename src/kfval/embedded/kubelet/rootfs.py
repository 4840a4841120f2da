"""The container's filesystem view, planned as bubblewrap arguments.

bubblewrap lays the host's root read-only under every container, and then cannot create a
mount point such as `/workspace` or `/etc/secret-volume` on it: `mkdir` fails on a read-only
filesystem. Where a mount target (or the working directory) needs a new directory under a
host directory, that host directory is *spread*: a tmpfs goes over it and each of its entries
is bound back read-only, so the container still sees the host's files and bubblewrap can
create the missing directory in the tmpfs. Spreading `/` means building the root from its
entries instead of binding it whole.

The same view answers where a container path lives on the host, which the sandbox uses to
check the executable before starting, and which the unsandboxed fallback uses to map the
working directory and the executable onto volume sources.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kfval.embedded.kubelet.containers import Mount, ProcessSpec

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HANDLED_BY_BUBBLEWRAP = frozenset({"/dev", "/proc"})
NETWORK_NAMESPACES = "/run/netns"
"""Where `ip netns` keeps each pod's network namespace as a mount: never part of a container's view.

Binding a directory binds the mounts under it, then bubblewrap remounts each of them read-only; a pod's
namespace deleted in between (its mount point gone) failed the container's start with ENOENT. So its
parents are always spread and it is left out, as no container on a node sees the host's namespaces.
"""


@dataclass(frozen=True)
class Layer:
    """One mount in the container's view: a bind of `source`, or an empty tmpfs when `source` is None."""

    target: str
    source: Path | None
    read_only: bool = False


def covers(target: str, path: str) -> bool:
    """Whether the container path `path` is `target` or lies under it."""
    return target in (path, "/") or path.startswith(target.rstrip("/") + "/")


class ContainerView:
    """Answers what a container path is backed by, given the layers mounted over the host root."""

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = tuple(layers)

    def layer_of(self, path: str) -> Layer | None:
        """The last (topmost) layer covering `path`, None when the host root shows through."""
        for layer in reversed(self.layers):
            if covers(layer.target, path):
                return layer
        return None

    def host_path(self, path: str) -> Path | None:
        """The host path that backs `path`, None when it lies in an empty tmpfs."""
        layer = self.layer_of(path)
        if layer is None:
            return Path(path)
        if layer.source is None:
            return None
        relative = PurePosixPath(path).relative_to(layer.target)
        return layer.source / relative if str(relative) != "." else layer.source

    def exists(self, path: str) -> bool:
        layer = self.layer_of(path)
        if layer is not None and layer.target == path:
            return True
        host = self.host_path(path)
        return host is not None and (host.exists() or host.is_symlink())


def normalized(path: str) -> str:
    return os.path.normpath("/" + path.lstrip("/")) if path != "/" else "/"


def on_host_root(path: str) -> str:
    """`path` with the host's symlinked directories on its way resolved, as runtimes resolve mount
    targets inside the root: `/var/run/secrets/...` lands in `/run/secrets/...` where /var/run -> /run.

    A tmpfs or bind cannot go onto a symlink, so a target under one is planned at its real place.
    """
    path = normalized(path)
    existing = path
    while existing != "/" and not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    real = os.path.realpath(existing)
    return normalized(os.path.join(real, os.path.relpath(path, existing))) if real != existing else path


def ordered_mounts(mounts: Iterable[Mount]) -> list[Mount]:
    """Mounts with parents first (by path depth, stable), as container runtimes order them."""
    return sorted(mounts, key=lambda mount: len(PurePosixPath(normalized(mount.target)).parts))


def base_layers(spec: ProcessSpec, *, state_dir: Path | None) -> list[Layer]:
    """The tmpfs layers every container gets, in mount order: /dev, scratch dirs, the hidden state dir."""
    layers = [Layer("/dev", None)]
    layers += [Layer(normalized(scratch), None) for scratch in spec.scratch_dirs]
    if state_dir is not None:
        hidden = str(state_dir.resolve())
        if not any(covers(layer.target, hidden) for layer in layers[1:]):
            layers.append(Layer(hidden, None))
    return layers


def mount_layers(mounts: Iterable[Mount], *, host_root: bool = False) -> list[Layer]:
    """The mounts as layers; on the host's root their targets resolved through its symlinks."""
    place = on_host_root if host_root else normalized
    return [Layer(place(m.target), m.source, m.read_only) for m in ordered_mounts(mounts)]


def spread_for(path: str, view: ContainerView) -> str | None:
    """The host directory to spread so that `path` can be created, None when nothing is needed."""
    if view.exists(path):
        return None
    child = PurePosixPath(path)
    current = child.parent
    while not view.exists(str(current)):
        child, current = current, current.parent
    return str(current) if view.layer_of(str(child)) is None else None


def spread_directories(spec: ProcessSpec, *, state_dir: Path | None) -> list[str]:
    """Host directories to spread, parents first, for every target and the working directory."""
    layers = base_layers(spec, state_dir=state_dir)
    wanted: set[str] = set()
    for index, layer in enumerate(layers):
        found = spread_for(layer.target, ContainerView(layers[:index]))
        if found is not None:
            wanted.add(found)
    for layer in mount_layers(spec.mounts, host_root=True):
        found = spread_for(layer.target, ContainerView(layers))
        if found is not None:
            wanted.add(found)
        layers.append(layer)
    found = spread_for(normalized(spec.workdir), ContainerView(layers))
    if found is not None:
        wanted.add(found)
    if os.path.lexists(NETWORK_NAMESPACES):
        wanted.update(str(parent) for parent in PurePosixPath(NETWORK_NAMESPACES).parents)
    return sorted(wanted, key=lambda path: len(PurePosixPath(path).parts))


def spread_args(directory: str, spread: Collection[str]) -> list[str]:
    """A tmpfs over `directory` with each entry bound back read-only (symlinks recreated).

    Entries in `spread` are spread themselves (after this one, parents first): binding them here would
    only be covered again, after binding every mount under them.
    """
    args = [] if directory == "/" else ["--tmpfs", directory]
    for name in sorted(os.listdir(directory)):
        entry = os.path.join(directory, name)
        if (directory == "/" and entry in HANDLED_BY_BUBBLEWRAP) or entry == NETWORK_NAMESPACES or entry in spread:
            continue
        if os.path.islink(entry):
            args += ["--symlink", os.readlink(entry), entry]
        else:
            args += ["--ro-bind-try", entry, entry]
    return args


def image_layers(spec: ProcessSpec) -> list[Layer]:
    """An image's own root (writable: this run's copy), the host runtime it stands on, then the mounts."""
    assert spec.root is not None
    layers = [Layer("/", spec.root), Layer("/dev", None)]
    layers += [Layer(normalized(scratch), None) for scratch in spec.scratch_dirs]
    layers += [Layer(path, Path(path), read_only=True) for path in spec.runtime_paths]
    return [*layers, *mount_layers(spec.mounts)]


def image_root_args(spec: ProcessSpec) -> list[str]:
    """bubblewrap arguments for a container on its image's root: nothing of the host but what is bound."""
    args = []
    for layer in image_layers(spec):
        if layer.target == "/dev":
            args += ["--dev", "/dev", "--proc", "/proc"]
        elif layer.source is None:
            args += ["--tmpfs", layer.target]
        else:
            args += ["--ro-bind" if layer.read_only else "--bind", str(layer.source), layer.target]
    workdir = normalized(spec.workdir)
    if not ContainerView(image_layers(spec)).exists(workdir):
        args += ["--dir", workdir]
    return [*args, "--chdir", workdir]


def filesystem_args(spec: ProcessSpec, *, state_dir: Path | None) -> list[str]:
    """The bubblewrap arguments that build the container's filesystem and enter its working directory."""
    if spec.root is not None:
        return image_root_args(spec)
    spread = spread_directories(spec, state_dir=state_dir)
    args = spread_args("/", spread) if "/" in spread else ["--ro-bind", "/", "/"]
    for directory in spread:
        if directory != "/":
            args += spread_args(directory, spread)
    args += ["--dev", "/dev", "--proc", "/proc"]
    for layer in base_layers(spec, state_dir=state_dir)[1:]:
        args += ["--tmpfs", layer.target]
    for layer in mount_layers(spec.mounts, host_root=True):
        args += ["--ro-bind" if layer.read_only else "--bind", str(layer.source), layer.target]
    workdir = normalized(spec.workdir)
    if not full_view(spec, state_dir=state_dir).exists(workdir):
        args += ["--dir", workdir]
    return [*args, "--chdir", workdir]


def full_view(spec: ProcessSpec, *, state_dir: Path | None) -> ContainerView:
    if spec.root is not None:
        return ContainerView(image_layers(spec))
    return ContainerView([*base_layers(spec, state_dir=state_dir), *mount_layers(spec.mounts, host_root=True)])


def find_executable(argv0: str, *, env: Mapping[str, str], workdir: str, view: ContainerView) -> Path | None:
    """The host file that `argv0` runs in the container (PATH search as execvp does), None if missing."""
    if "/" in argv0:
        candidates = [normalized(os.path.join(workdir, argv0))]
    else:
        search = env.get("PATH", DEFAULT_PATH).split(":")
        candidates = [normalized(os.path.join(directory or workdir, argv0)) for directory in search]
    for candidate in candidates:
        host = view.host_path(candidate)
        if host is not None and host.is_file() and os.access(host, os.X_OK):
            return host
    return None


def look_path_error(argv0: str, *, env: Mapping[str, str], workdir: str, view: ContainerView) -> str | None:
    """Why runc's `exec.LookPath` refuses `argv0` in the view, in Go's words; None when it can be run."""
    quoted = json.dumps(argv0, ensure_ascii=False)
    if "/" not in argv0:
        found = find_executable(argv0, env=env, workdir=workdir, view=view)
        return None if found is not None else f"exec: {quoted}: executable file not found in $PATH"
    host = view.host_path(normalized(os.path.join(workdir, argv0)))
    if host is None or not host.exists():
        return f"exec: {quoted}: stat {argv0}: no such file or directory"
    if host.is_dir() or not host.stat().st_mode & 0o111:
        return f"exec: {quoted}: permission denied"
    return None
