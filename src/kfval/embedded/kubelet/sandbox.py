"""The only place in the cluster that starts processes.

Containers run as local processes: inside bubblewrap where it works (the host's root read-only
as the runtime, volumes and image files bound at their paths, own PID/IPC/UTS namespaces), or
as plain processes where it does not (said once, loudly). No process may outlive the cluster,
even when the cluster is SIGKILLed, so every process is started through this chain, each link
of which replaces itself with `exec` and keeps the same pid:

    setpriv --pdeathsig KILL  ->  sh: parent check  ->  [sh: join memory cgroup]  ->  [ip netns exec <pod>]
        ->  [unshare --mount --propagation private]  ->  bwrap

The parent-death signal kills the outer bwrap when the cluster dies. A cluster that dies between the
fork and setpriv's asking for that signal would leave the process to init for good, so the next link
checks that its parent is still the cluster and ends (137) otherwise, as a killed process would; bwrap's
`--die-with-parent` kills the PID namespace's init, which takes every container process with
it. Each container is its own session and process group, and every started pid is recorded in
the state directory so that `reaping.reap` can finish what a killed cluster left. A command
exec'd into a running container (`pods/exec`) takes the same chain, then `nsenter` into the
container's namespaces instead of bwrap, so it dies with the container, as runc's exec does.

A container's time limits (a command's timeout, the cgroup's release) are measured on the
cluster's clock; only the bound on a host administration command (`run_host`, `ip ...`) is the
event loop's own I/O timeout, since it guards the host, not anything a pod asked for.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import logging
import os
import shutil
import signal as signals
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kfval.embedded.clock import Clock, within
from kfval.embedded.kubelet import cgroups, identity, processes, rootfs, sessions
from kfval.embedded.kubelet.containers import (
    ContainerStartError,
    ExecTarget,
    LogSink,
    PodNetwork,
    ProcessSpec,
    RunningProcess,
    Stream,
)

log = logging.getLogger(__name__)

TIMEOUT_EXIT_CODE = 124
"""What `run` reports for a command killed at its timeout (as GNU timeout does)."""
HOST_COMMAND_TIMEOUT_SECONDS = 30.0
SANDBOX_SETUP_CHECKS = 200
SANDBOX_SETUP_CHECK_SECONDS = 0.01
JOIN_CGROUP_SCRIPT = 'echo $$ >"$0" || exit 125; exec "$@"'
PARENT_CHECK_SCRIPT = 'test "$PPID" = "$0" || exit 137; exec "$@"'
"""Run after the parent-death signal is set: the parent is still the cluster (pid `$0`), else it already died."""
Process = asyncio.subprocess.Process
Stdio = tuple[int, int, int]
PIPED_OUTPUT: Stdio = (subprocess.DEVNULL, subprocess.PIPE, subprocess.PIPE)


@dataclass(frozen=True)
class ExecCall:
    """How an exec's command is to be started: its environment, its streams, what it joins."""

    env: Mapping[str, str]
    stdin: bool
    tty: bool
    netns: str | None = None
    cgroup: cgroups.MemoryCgroup | None = None
    devices: Path | None = None
    """The container's /dev as the host sees it, where its terminal is made."""


def cluster_prefix(state_dir: Path) -> str:
    """A short name prefix (`kf3a9c-`) for the host objects of the cluster that owns `state_dir`."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()
    return f"kf{digest[:4]}-"


def run_host_sync(argv: Sequence[str], *, timeout_seconds: float = HOST_COMMAND_TIMEOUT_SECONDS) -> tuple[int, bytes]:
    """Run a host administration command (`ip ...`) to completion: exit code and combined output."""
    try:
        done = subprocess.run(list(argv), capture_output=True, timeout=timeout_seconds, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return 127, str(error).encode()
    return done.returncode, done.stdout + done.stderr


async def run_host(
    argv: Sequence[str], *, timeout_seconds: float = HOST_COMMAND_TIMEOUT_SECONDS, stdin: bytes | None = None
) -> tuple[int, bytes]:
    """The asynchronous form of `run_host_sync`, for use on the cluster's event loop.

    `stdin` is fed to the command (a password for `htpasswd -i` stays out of the process table).
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except OSError as error:
        return 127, str(error).encode()
    try:
        output, _ = await asyncio.wait_for(process.communicate(stdin), timeout_seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        return TIMEOUT_EXIT_CODE, b"timed out"
    return process.returncode or 0, output


async def collect_output(process: RunningProcess, output: list[bytes], timeout_seconds: float, clock: Clock) -> int:
    """Wait for `process` within the timeout (on `clock`), killing it at the deadline; TIMEOUT_EXIT_CODE then."""
    try:
        return await within(clock, asyncio.shield(process.wait()), timeout_seconds)
    except TimeoutError:
        process.signal(signals.SIGKILL)
        await process.wait()
        output.append(b"command timed out")
        return TIMEOUT_EXIT_CODE


class ProcessLauncher:
    """Starts one process through the death-signal chain, optionally in a cgroup and a network namespace."""

    def __init__(self, state_dir: Path | None, clock: Clock) -> None:
        self.state_dir = state_dir
        self.clock = clock
        self.registry = processes.PidRegistry(state_dir)
        self.prefix = cluster_prefix(state_dir) if state_dir is not None else "kf0000-"
        self.memory = cgroups.MemoryCgroups(self.prefix)
        self._setpriv = shutil.which("setpriv")
        self._ip = shutil.which("ip") or "ip"
        self._setsid = shutil.which("setsid")
        self._serial = 0
        self.parent_pid = os.getpid()
        """The process every started one must still be the child of once its death signal is set."""

    def chain(self, netns: str | None, cgroup: cgroups.MemoryCgroup | None) -> list[str]:
        """The exec chain in front of a command line: death signal, memory cgroup, network namespace."""
        argv = [self._setpriv, "--pdeathsig", "KILL", "--"] if self._setpriv else []
        argv += ["/bin/sh", "-c", PARENT_CHECK_SCRIPT, str(self.parent_pid)] if self._setpriv else []
        if cgroup is not None:
            argv += ["/bin/sh", "-c", JOIN_CGROUP_SCRIPT, str(cgroup.procs)]
        if netns is not None:
            argv += [self._ip, "netns", "exec", netns]
        return argv

    async def spawn(self, argv: list[str], *, env: Mapping[str, str], cwd: str | None, stdio: Stdio) -> Process:
        """Start `argv` as a session of its own that dies with the cluster."""
        stdin, stdout, stderr = stdio
        try:
            return await asyncio.create_subprocess_exec(
                *argv,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                env={"PATH": rootfs.DEFAULT_PATH, **env},
                cwd=cwd,
                start_new_session=True,
                preexec_fn=None if self._setpriv else set_parent_death_signal,
            )
        except OSError as error:
            raise ContainerStartError(str(error)) from error

    async def launch(
        self, spec: ProcessSpec, command: list[str], sink: LogSink, *, wrapped: bool, cwd: str | None = None
    ) -> processes.ContainerProcess:
        cgroup = None
        if spec.memory_limit_bytes is not None:
            self._serial += 1
            cgroup = self.memory.create(f"c{os.getpid()}-{self._serial}", spec.memory_limit_bytes)
        try:
            process = await self.spawn(
                [*self.chain(spec.network.netns, cgroup), *command], env=spec.env, cwd=cwd, stdio=PIPED_OUTPUT
            )
        except ContainerStartError:
            if cgroup is not None:
                cgroup.remove()
            raise
        return processes.ContainerProcess(
            process, sink, registry=self.registry, cgroup=cgroup, wrapped=wrapped, clock=self.clock
        )

    async def start_daemon(self, argv: list[str], *, log_path: Path) -> processes.HostDaemon:
        """Start a host service beside the pods (the image registry), its output appended to `log_path`.

        It takes the same death-signal chain as a container and is recorded for the reaper, so a
        killed cluster leaves no service behind; it joins no cgroup and no pod's network.
        """
        with log_path.open("ab") as output:
            process = await self.spawn(
                [*self.chain(None, None), *argv],
                env={},
                cwd=None,
                stdio=(subprocess.DEVNULL, output.fileno(), output.fileno()),
            )
        return processes.HostDaemon(process, registry=self.registry, clock=self.clock)

    def leading(self, command: tuple[str, ...], *, tty: bool) -> tuple[str, ...]:
        """`command`, as the leader of a session whose controlling terminal is its stdin when it has one.

        The session must begin inside the container's PID namespace: a shell hands the terminal back
        to its session's process group when it exits, and fails (exit 2) on a group it cannot see.
        """
        return (self._setsid, "--ctty", "--wait", *command) if tty and self._setsid else command

    async def launch_exec(self, command: list[str], call: ExecCall, *, cwd: str | None = None) -> sessions.ExecProcess:
        """Start an exec's command line (entering the container's namespaces, or a sandbox like it)."""
        terminal = sessions.Terminal(call.devices) if call.tty else None
        env = {**call.env, "TERM": "xterm"} if terminal is not None else call.env
        if terminal is not None:
            stdio: Stdio = (terminal.slave, terminal.slave, terminal.slave)
        else:
            stdio = (subprocess.PIPE if call.stdin else subprocess.DEVNULL, subprocess.PIPE, subprocess.PIPE)
        try:
            process = await self.spawn([*self.chain(call.netns, call.cgroup), *command], env=env, cwd=cwd, stdio=stdio)
        except ContainerStartError:
            if terminal is not None:
                terminal.abandon()
            raise
        if terminal is not None:
            await terminal.connect()
        return sessions.ExecProcess(process, terminal=terminal, registry=self.registry)


def set_parent_death_signal() -> None:
    """Ask the kernel to SIGKILL this (child) process when its parent dies; fallback without setpriv."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signals.SIGKILL)


def check_executable(spec: ProcessSpec, view: rootfs.ContainerView) -> None:
    """Refuse a command whose executable the container cannot see, as the runtime does (exit 128 there)."""
    if not spec.argv:
        raise ContainerStartError("no command specified")
    env = {"PATH": rootfs.DEFAULT_PATH, **spec.env}
    if rootfs.find_executable(spec.argv[0], env=env, workdir=rootfs.normalized(spec.workdir), view=view) is None:
        where = "" if "/" in spec.argv[0] else " in $PATH"
        raise ContainerStartError(f'exec: "{spec.argv[0]}": executable file not found{where}')


def check_exec(command: tuple[str, ...], env: Mapping[str, str], workdir: str, view: rootfs.ContainerView) -> None:
    """Refuse an exec whose executable the container cannot run, as runc refuses it (its words)."""
    if not command:
        raise ContainerStartError("args must not be empty")
    refusal = rootfs.look_path_error(command[0], env={"PATH": rootfs.DEFAULT_PATH, **env}, workdir=workdir, view=view)
    if refusal is not None:
        raise ContainerStartError(f"unable to start container process: {refusal}")


class BubblewrapSandbox:
    """Runs each container in bubblewrap with the host's root read-only and its volumes bound.

    An exec enters the running container's namespaces with nsenter, as runc exec does: it shares
    the container's /tmp, processes, hostname and network. That needs root; without it the command
    gets a sandbox of its own built like the container's (same volumes, image files and network),
    as exec probes do.
    """

    name = "bubblewrap"

    def __init__(self, state_dir: Path, clock: Clock, *, enter_namespaces: bool = True) -> None:
        self.state_dir = state_dir
        self.launcher = ProcessLauncher(state_dir, clock)
        self._bwrap = shutil.which("bwrap") or "bwrap"
        self._nsenter = shutil.which("nsenter") if enter_namespaces and os.geteuid() == 0 else None
        unshare = shutil.which("unshare") if os.geteuid() == 0 else None
        self._private_mounts = [unshare, "--mount", "--propagation", "private", "--"] if unshare else []
        """bwrap binds the host's root with every mount under it, then remounts each read-only; a pod's network
        namespace deleted meanwhile (its mount under /run/netns) made that fail now and then. In a private
        copy of the mounts the host's unmounts no longer reach the list bwrap is working through."""
        self._switch_files: dict[str, str] | None = None

    def command(self, spec: ProcessSpec) -> list[str]:
        """The bwrap command line for `spec` (without the exec chain)."""
        namespaces = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        filesystem = rootfs.filesystem_args(spec, state_dir=self.state_dir)
        helper, switch = [], []
        if spec.run_as is not None and spec.run_as.uid != 0:
            files = self._user_switch_files()
            helper, switch = identity.bind_args(files), identity.switch_argv(spec.run_as, files)
        return [
            *self._private_mounts,
            self._bwrap,
            *namespaces,
            "--hostname",
            spec.hostname,
            *filesystem,
            *helper,
            "--",
            *switch,
            *spec.argv,
        ]

    def _user_switch_files(self) -> dict[str, str]:
        """setpriv and what it links (found once with ldd), bound into image roots to drop to their user."""
        if self._switch_files is None:
            setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
            _code, output = run_host_sync(["ldd", setpriv])
            self._switch_files = identity.linked_files(setpriv, output.decode(errors="replace"))
        return self._switch_files

    async def start(self, spec: ProcessSpec, sink: LogSink) -> processes.ContainerProcess:
        check_executable(spec, rootfs.full_view(spec, state_dir=self.state_dir))
        return await self.launcher.launch(spec, self.command(spec), sink, wrapped=True)

    async def run(self, spec: ProcessSpec, timeout_seconds: float) -> tuple[int, bytes]:
        return await run_collecting(self, spec, timeout_seconds)

    async def exec(
        self, target: ExecTarget, command: tuple[str, ...], *, stdin: bool, tty: bool
    ) -> sessions.ExecProcess:
        spec = replace(target.spec, argv=self.launcher.leading(command, tty=tty))
        workdir = rootfs.normalized(spec.workdir)
        call = ExecCall(spec.env, stdin, tty)
        if self._nsenter is None:
            check_exec(command, spec.env, workdir, rootfs.full_view(spec, state_dir=self.state_dir))
            return await self.launcher.launch_exec(self.command(spec), replace(call, netns=spec.network.netns))
        holder = await self._sandbox_init(target.process.pid)
        root = Path(f"/proc/{holder}/root")
        check_exec(command, spec.env, workdir, rootfs.ContainerView([rootfs.Layer("/", root)]))
        namespaces = ["--mount", "--uts", "--ipc", "--net", "--pid", f"--wdns={workdir}"]
        argv = [self._nsenter, "--target", str(holder), *namespaces, "--", *spec.argv]
        joined = replace(call, cgroup=self.launcher.memory.holding(holder), devices=root / "dev")
        return await self.launcher.launch_exec(argv, joined)

    async def _sandbox_init(self, pid: int) -> int:
        """The container's PID 1 (bubblewrap's init under its monitor `pid`), once it has set the sandbox up.

        bubblewrap's init forks the container's command only when the mounts are in place, so an exec
        that arrives while a container is still starting waits for that child instead of entering a
        half-built mount namespace.
        """
        for _ in range(SANDBOX_SETUP_CHECKS):
            init = next(iter(processes.children(pid)), None)
            if init is not None and processes.children(init):
                return init
            if processes.stat_fields(pid) is None:
                break
            await self.launcher.clock.sleep(SANDBOX_SETUP_CHECK_SECONDS)
        raise ContainerStartError("container process has exited")

    def close(self) -> None:
        """Remove the memory cgroups this sandbox created (call after every container has exited)."""
        self.launcher.memory.close()


class PlainSandbox:
    """Runs containers as plain processes: the degraded mode where bubblewrap is not available.

    Mounts cannot be applied: the working directory and an absolute executable path are mapped
    onto the volume (or image file) sources that back them, but the program's own accesses to
    mount paths (`/etc/secret-volume/...`) see the host's filesystem. The hostname is the host's.
    """

    name = "plain"

    def __init__(self, state_dir: Path | None, clock: Clock) -> None:
        self.state_dir = state_dir
        self.launcher = ProcessLauncher(state_dir, clock)

    async def start(self, spec: ProcessSpec, sink: LogSink) -> processes.ContainerProcess:
        view = rootfs.full_view(spec, state_dir=None)
        check_executable(spec, view)
        workdir = view.host_path(rootfs.normalized(spec.workdir))
        cwd = str(workdir) if workdir is not None and workdir.is_dir() else "/"
        argv0 = spec.argv[0]
        if argv0.startswith("/"):
            argv0 = str(view.host_path(argv0) or argv0)
        return await self.launcher.launch(spec, [argv0, *spec.argv[1:]], sink, wrapped=False, cwd=cwd)

    async def run(self, spec: ProcessSpec, timeout_seconds: float) -> tuple[int, bytes]:
        return await run_collecting(self, spec, timeout_seconds)

    async def exec(
        self, target: ExecTarget, command: tuple[str, ...], *, stdin: bool, tty: bool
    ) -> sessions.ExecProcess:
        """The command as a plain process with the container's environment, working directory and network."""
        spec = replace(target.spec, argv=command)
        view = rootfs.full_view(spec, state_dir=None)
        check_exec(command, spec.env, rootfs.normalized(spec.workdir), view)
        workdir = view.host_path(rootfs.normalized(spec.workdir))
        cwd = str(workdir) if workdir is not None and workdir.is_dir() else "/"
        argv0 = str(view.host_path(command[0]) or command[0]) if command[0].startswith("/") else command[0]
        argv = self.launcher.leading((argv0, *command[1:]), tty=tty)
        call = ExecCall(spec.env, stdin, tty, netns=spec.network.netns)
        return await self.launcher.launch_exec(list(argv), call, cwd=cwd)

    def close(self) -> None:
        self.launcher.memory.close()


async def run_collecting(
    sandbox: BubblewrapSandbox | PlainSandbox, spec: ProcessSpec, timeout_seconds: float
) -> tuple[int, bytes]:
    """Start `spec` in `sandbox`, gather stdout and stderr interleaved, bounded by the timeout."""
    output: list[bytes] = []

    def gather(_stream: Stream, line: bytes) -> None:
        output.append(line)

    try:
        process = await sandbox.start(spec, gather)
    except ContainerStartError as error:
        return 126, str(error).encode()
    code = await collect_output(process, output, timeout_seconds, sandbox.launcher.clock)
    return code, b"".join(line + b"\n" for line in output)


SELF_TEST_TRIES = 3
SELF_TEST_SPEC = ProcessSpec(
    argv=("/bin/true",), env={}, workdir="/", mounts=(), hostname="kfval-self-test", network=PodNetwork("")
)


async def detect_sandbox(state_dir: Path, clock: Clock) -> BubblewrapSandbox | PlainSandbox:
    """bubblewrap when it is installed and passes a self-test, else plain processes (with one warning)."""
    if shutil.which("bwrap") is None:
        log.warning("bubblewrap (bwrap) is not installed: containers run unsandboxed, without their mounts")
        return PlainSandbox(state_dir, clock)
    sandbox = BubblewrapSandbox(state_dir, clock)
    for _ in range(SELF_TEST_TRIES):  # another cluster's pod network going at that moment can fail one try
        code, output = await run_host(sandbox.command(SELF_TEST_SPEC), timeout_seconds=10.0)
        if code == 0:
            break
    if code != 0:
        reason = output.decode(errors="replace").strip()
        log.warning("bubblewrap fails its self-test (%s): containers run unsandboxed, without their mounts", reason)
        return PlainSandbox(state_dir, clock)
    return sandbox
