"""The one door between the suite and the embedded cluster: start it, find it, stop it.

The cluster runs in a process of its own (`python -m kfval.embedded.runner`), so a crash or a Go
panic inside a workload library cannot take the suite down, and the suite meets it only through
the kubeconfig this module hands back. `state_dir/cluster.json` records the running cluster;
`state_dir/cluster.log` keeps its log.

Runs share the cluster of a state dir through `share` and `release`: `launch.lock` lets one of two
runs started at once start it while the other waits and then finds it, and each run holds a shared
lock on `users.lock` while it uses the cluster, so the run that started it stops it only once no
other run uses it (the cluster dies with the process that started it).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from kfval.embedded.kubelet import processes, reaping, sandbox

DEFAULT_STATE_DIR = Path(".state") / "cluster"
TENSORFLOW_BASE = "base/tensorflow:2.21.0"
"""One of the bases registry/seeding.py seeds (launch stays free of the registry's imports)."""
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
RELEASE_POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1
_started: dict[int, subprocess.Popen[bytes]] = {}
"""Clusters this process started, kept so `stop` can reap them (and Python does not warn)."""
_launch_locks: set[Path] = set()
"""State dirs whose launch lock this process holds."""


class LaunchError(RuntimeError):
    """The cluster could not be started or found; the message says why and where its log is."""


@dataclass(frozen=True)
class RegistryInfo:
    """The cluster's image registry: the name pods use, the address the host uses, its credentials."""

    name: str
    """`registry.kube-system.svc.cluster.local:5000`: what image references in pods say."""
    address: str
    """`ip:port` where the host reaches it (plain HTTP)."""
    username: str
    password: str

    def __repr__(self) -> str:
        return f"RegistryInfo(name={self.name!r}, address={self.address!r}, username={self.username!r})"

    @property
    def tensorflow_base(self) -> str:
        """The seeded non-root TensorFlow base (user jovyan, uid 1000), as pods name it."""
        return f"{self.name}/{TENSORFLOW_BASE}"


@dataclass(frozen=True)
class ClusterInfo:
    """A running cluster, as recorded in its state directory."""

    state_dir: Path
    server: str
    pid: int
    registry: RegistryInfo | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "cluster.log"


def _record(state_dir: Path) -> Path:
    return state_dir / "cluster.json"


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for its parent to reap it (a SIGKILLed cluster of ours is)."""
    child = _started.get(pid)
    if child is not None and child.poll() is not None:
        del _started[pid]
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def find(state_dir: Path = DEFAULT_STATE_DIR) -> ClusterInfo | None:
    """The cluster recorded in `state_dir`, if its process is still alive."""
    try:
        record = json.loads(_record(state_dir).read_text())
    except (FileNotFoundError, ValueError):
        return None
    registry = record.get("registry")
    info = ClusterInfo(
        state_dir=state_dir.resolve(),
        server=record["server"],
        pid=int(record["pid"]),
        registry=RegistryInfo(**registry) if isinstance(registry, dict) else None,
    )
    return info if _alive(info.pid) else None


def is_ready(info: ClusterInfo) -> bool:
    request = urllib.request.Request(f"{info.server}/readyz")
    try:
        with urllib.request.urlopen(request, timeout=2, context=_insecure_context(info.server)) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _insecure_context(server: str) -> ssl.SSLContext | None:
    """Readiness only: the CA is in the kubeconfig for real clients, this probe carries no token."""
    if not server.startswith("https"):
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _command(
    state_dir: Path,
    *,
    port: int,
    tls: bool,
    images_dir: Path | None,
    datasets_dir: Path | None = None,
    keep_registry: bool = False,
) -> list[str]:
    argv = [sys.executable, "-m", "kfval.embedded.runner", "--state-dir", str(state_dir), "--port", str(port)]
    argv.append("--tls" if tls else "--no-tls")
    if keep_registry:
        argv.append("--keep-registry")
    if images_dir is not None:
        argv += ["--images-dir", str(images_dir)]
    if datasets_dir is not None:
        argv += ["--datasets-dir", str(datasets_dir)]
    return argv


def start(
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    port: int = 0,
    tls: bool = True,
    images_dir: Path | None = None,
    datasets_dir: Path | None = None,
    die_with_parent: bool = False,
    timeout_seconds: float = READY_TIMEOUT_SECONDS,
    keep_registry: bool = False,
) -> ClusterInfo:
    """Start a cluster in the background and return once `/readyz` answers.

    `datasets_dir` holds the offline data sets bound into project images (default: the runner's
    `.cache/datasets` under the current directory). The registry's images are deleted when the
    cluster stops, unless `keep_registry`.
    """
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    with _launching(state_dir):
        running = find(state_dir)
        if running is not None:
            raise LaunchError(
                f"a cluster is already running from {state_dir} (pid {running.pid}); "
                f"stop it with `kfval cluster down --state-dir {state_dir}`"
            )
        _record(state_dir).unlink(missing_ok=True)
        log_path = state_dir / "cluster.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                _command(
                    state_dir,
                    port=port,
                    tls=tls,
                    images_dir=images_dir,
                    datasets_dir=datasets_dir,
                    keep_registry=keep_registry,
                ),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if die_with_parent else None,  # noqa: PLW1509 (no threads here)
            )
        _started[process.pid] = process
        return _await_ready(state_dir, process, log_path, timeout_seconds)


def _await_ready(state_dir: Path, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> ClusterInfo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            _started.pop(process.pid, None)
            raise LaunchError(
                f"the embedded cluster exited with code {code} while starting; see {log_path}:\n" + _tail(log_path)
            )
        info = find(state_dir)
        if info is not None and is_ready(info):
            return info
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise LaunchError(
        f"the embedded cluster did not become ready within {timeout:.0f} s; see {log_path}:\n" + _tail(log_path)
    )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop(state_dir: Path = DEFAULT_STATE_DIR, *, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> bool:
    """Stop the cluster recorded in `state_dir` (SIGTERM, then SIGKILL); False if none was running."""
    info = find(state_dir)
    if info is None:
        return False
    os.kill(info.pid, signal.SIGTERM)
    child = _started.pop(info.pid, None)
    if child is not None:
        try:
            child.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return True
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if not _alive(info.pid):
            return True
        time.sleep(0.05)
    os.kill(info.pid, signal.SIGKILL)
    return True


def reap(state_dir: Path) -> str | None:
    """Finish what a cluster killed outright (SIGKILL) left on `state_dir`: a pod process it was starting as it
    died can outlive it (its death signal not yet asked for), so the process groups it recorded are killed and
    its network namespaces, links and memory cgroups removed, as its next start would. What was left, in
    words, or None when nothing was; nothing is touched while the cluster recorded there runs."""
    if find(state_dir) is not None:
        return None
    killed = reaping.kill_recorded(state_dir / processes.PID_FILE)
    namespaces, links = reaping.remove_host_objects(sandbox.cluster_prefix(state_dir))
    if not (killed.members or namespaces or links):
        return None
    return (
        f"{len(killed.members)} process(es) of {len(killed.process_groups)} pod container(s), "
        f"{len(namespaces)} network namespace(s), {len(links)} link(s)"
    )


@dataclass(frozen=True)
class Lease:
    """One run's use of the cluster of a state dir, from `share` until `release`."""

    info: ClusterInfo
    started: bool
    """Whether this process started the cluster (so `release` stops it once no other run uses it)."""
    users: IO[str]
    """`users.lock`, open and locked shared while the run uses the cluster."""


def share(state_dir: Path = DEFAULT_STATE_DIR, **options: object) -> Lease:
    """The cluster running from `state_dir` for one more run, started (with `options`) when none runs.

    Two runs started at once do not both start a cluster: the second waits for the first to be ready.
    """
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    with _launching(state_dir):
        info = find(state_dir)
        started = info is None
        if info is None:
            info = start(state_dir, **options)  # type: ignore[arg-type]
        users = (state_dir / "users.lock").open("a")
        fcntl.flock(users, fcntl.LOCK_SH)
    return Lease(info, started, users)


def release(lease: Lease, *, wait_for_others: bool = True) -> bool:
    """End a run's use of the cluster. The run that started it stops it, after waiting for the other runs
    that use it to release it (unless `wait_for_others` is False: a run that is being killed cannot wait).

    False when this run started the cluster and found it already gone (it died under the run: see `reap`)."""
    state_dir = lease.info.state_dir
    try:
        if not lease.started:
            return True
        announced = False
        while True:
            with _launching(state_dir):
                if not wait_for_others or _try_exclusive(lease.users):
                    return stop(state_dir)
            if not announced:
                print(f"kfval: other runs still use the embedded cluster of {state_dir}: waiting for them to end "
                      "before stopping it", file=sys.stderr, flush=True)  # fmt: skip
                announced = True
            time.sleep(RELEASE_POLL_SECONDS)
    finally:
        lease.users.close()


def _try_exclusive(users: IO[str]) -> bool:
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def _launching(state_dir: Path) -> Iterator[None]:
    """Hold `launch.lock` of `state_dir`: one process at a time finds, starts or stops its cluster.

    Re-entrant within this process (`share` starts the cluster through `start`, which locks too).
    """
    if state_dir in _launch_locks:
        yield
        return
    with (state_dir / "launch.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _launch_locks.add(state_dir)
        try:
            yield
        finally:
            _launch_locks.discard(state_dir)


class Cluster:
    """A started cluster as a context manager: `with Cluster(path) as info: ...` stops it on exit."""

    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR, **options: object) -> None:
        self.state_dir = state_dir
        self.options = options
        self.info: ClusterInfo | None = None

    def __enter__(self) -> ClusterInfo:
        self.info = start(self.state_dir, **self.options)  # type: ignore[arg-type]
        return self.info

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        stop(self.state_dir)


def run_foreground(
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    port: int = 0,
    tls: bool = True,
    images_dir: Path | None = None,
    keep_registry: bool = False,
) -> int:
    """`kfval cluster up` without --detach: serve until Ctrl-C or SIGTERM, then stop every pod."""
    state_dir = state_dir.resolve()
    if find(state_dir) is not None:
        raise LaunchError(f"a cluster is already running from {state_dir}; stop it with `kfval cluster down`")
    state_dir.mkdir(parents=True, exist_ok=True)
    _record(state_dir).unlink(missing_ok=True)
    process = subprocess.Popen(
        _command(state_dir, port=port, tls=tls, images_dir=images_dir, keep_registry=keep_registry),
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 (the launcher starts no threads)
    )
    previous = signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        info = _await_ready(state_dir, process, state_dir / "cluster.log", READY_TIMEOUT_SECONDS)
        print(f"embedded cluster ready at {info.server}\nexport KUBECONFIG={info.kubeconfig}", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
