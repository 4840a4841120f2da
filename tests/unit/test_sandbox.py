"""Real bubblewrap runs: the container's filesystem view, output, exit codes, signals, no survivors."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet import cgroups, processes, reaping, rootfs, sandbox
from kfval.embedded.kubelet.containers import ContainerStartError, Mount, PodNetwork, ProcessSpec, Stream
from tests.support.host import needs_root_and
from tests.support.loop import on_loop
from tests.support.polling import eventually, eventually_blocking

pytestmark = needs_root_and("bwrap")
CLOCK = SystemClock()


def spec_for(*argv: str, mounts: tuple[Mount, ...] = (), workdir: str = "/", **env: str) -> ProcessSpec:
    return ProcessSpec(
        argv=argv, env=env, workdir=workdir, mounts=mounts, hostname="trainer-0", network=PodNetwork("127.1.0.9")
    )


class Lines:
    """A LogSink that keeps what it was given."""

    def __init__(self) -> None:
        self.lines: list[tuple[Stream, bytes]] = []

    def __call__(self, stream: Stream, line: bytes) -> None:
        self.lines.append((stream, line))

    def of(self, stream: Stream) -> list[bytes]:
        return [line for name, line in self.lines if name == stream]


def alive(pid: int) -> bool:
    fields = processes.stat_fields(pid)
    return fields is not None and fields[0] != "Z"


async def all_gone(pids: list[int]) -> None:
    await eventually(lambda: not [pid for pid in pids if alive(pid)], f"processes {pids} gone", timeout=2.0)


def sleepers(pgid: int) -> list[int]:
    """The `sleep` processes of a container's process group."""
    return [pid for pid in processes.group_members(pgid) if Path(f"/proc/{pid}/comm").read_text().strip() == "sleep"]


@on_loop
async def test_self_test_chooses_bubblewrap(tmp_path: Path) -> None:
    assert (await sandbox.detect_sandbox(tmp_path, CLOCK)).name == "bubblewrap"


@on_loop
async def test_mounts_land_at_paths_missing_on_the_host_and_the_root_stays_read_only(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "token").write_text("s3cret\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("10.244.1.5 trainer-0\n")
    targets = ["/workspace", "/etc/secret-volume", "/home/jovyan", "/kaniko/.docker", "/mnt/data"]
    mounts = (*(Mount(volume, target, read_only=True) for target in targets), Mount(hosts, "/etc/hosts", True))
    script = "; ".join(f"cat {target}/token" for target in targets)
    script += "; cat /etc/hosts; hostname; touch /usr/kfval-probe || echo read-only; ls /etc/passwd"
    sink = Lines()
    process = await sandbox.BubblewrapSandbox(tmp_path / "state", CLOCK).start(
        spec_for("sh", "-c", script, mounts=mounts), sink
    )
    assert await process.wait() == 0
    assert sink.of("stdout") == [
        *[b"s3cret"] * 5,
        b"10.244.1.5 trainer-0",
        b"trainer-0",
        b"read-only",
        b"/etc/passwd",
    ]
    assert not Path("/workspace").exists()


@on_loop
async def test_self_test_tries_again_before_it_gives_up_on_bubblewrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [(1, b"bwrap: Can't bind mount /oldroot/ on /newroot/: No such file or directory"), (0, b"")]

    async def flaky(argv: list[str], *, timeout_seconds: float) -> tuple[int, bytes]:
        return answers.pop(0)

    monkeypatch.setattr(sandbox, "run_host", flaky)
    assert (await sandbox.detect_sandbox(tmp_path, CLOCK)).name == "bubblewrap"


@on_loop
async def test_a_containers_mounts_take_no_changes_from_the_host(tmp_path: Path) -> None:
    """No mount of the container is a slave of the host's: a pod network deleted while bwrap sets up
    (its mount under /run/netns going) cannot pull a mount from under bwrap's feet."""
    spec = spec_for("cat", "/proc/self/mountinfo")
    code, output = await sandbox.BubblewrapSandbox(tmp_path, CLOCK).run(spec, 10.0)
    assert code == 0, output
    assert b" master:" not in output and b" shared:" not in output


@needs_root_and("bwrap", "ip")
@on_loop
async def test_no_pods_network_namespace_is_in_a_containers_view(tmp_path: Path) -> None:
    """bubblewrap never binds the mounts of /run/netns: a pod network deleted while it remounted them
    read-only failed a container's start now and then (ENOENT)."""
    other_pod = f"kfvaltest{os.getpid()}"
    subprocess.run(["ip", "netns", "add", other_pod], check=True)
    try:
        script = "grep -c /run/netns /proc/self/mountinfo; test -e /run/netns && echo visible || echo hidden"
        code, output = await sandbox.BubblewrapSandbox(tmp_path, CLOCK).run(spec_for("sh", "-c", script), 10.0)
    finally:
        subprocess.run(["ip", "netns", "del", other_pod], check=True)
    assert (code, output.split()) == (0, [b"0", b"hidden"]), output


@on_loop
async def test_env_workdir_output_streams_and_partial_last_line(tmp_path: Path) -> None:
    sink = Lines()
    spec = spec_for(
        "sh", "-c", 'pwd; echo "$GREETING"; echo oops >&2; printf tail', workdir="/opt/kfval/run", GREETING="hi"
    )
    process = await sandbox.BubblewrapSandbox(tmp_path, CLOCK).start(spec, sink)
    assert await process.wait() == 0
    assert sink.of("stdout") == [b"/opt/kfval/run", b"hi", b"tail"]
    assert sink.of("stderr") == [b"oops"]


@on_loop
async def test_the_state_directory_is_hidden_from_containers(tmp_path: Path) -> None:
    state = Path("/var/tmp") / f"kfval-test-{os.getpid()}"
    (state / "secrets").mkdir(parents=True)
    try:
        (state / "secrets" / "key").write_text("other pod's secret")
        code, output = await sandbox.BubblewrapSandbox(state, CLOCK).run(spec_for("ls", "-A", str(state)), 10.0)
        assert (code, output) == (0, b"")
    finally:
        shutil.rmtree(state)


@pytest.mark.parametrize(("script", "expected"), [("exit 0", 0), ("exit 3", 3), ("kill -TERM $$", 143)])
@on_loop
async def test_exit_codes_are_reported_as_a_container_runtime_does(tmp_path: Path, script: str, expected: int) -> None:
    process = await sandbox.BubblewrapSandbox(tmp_path, CLOCK).start(spec_for("sh", "-c", script), Lines())
    assert await process.wait() == expected


@on_loop
async def test_a_missing_executable_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ContainerStartError, match='"no-such-tool": executable file not found in \\$PATH'):
        await sandbox.BubblewrapSandbox(tmp_path, CLOCK).start(spec_for("no-such-tool"), Lines())


@on_loop
async def test_sigterm_reaches_a_grandchild_and_a_trap_gets_its_grace(tmp_path: Path) -> None:
    sink = Lines()
    script = "trap 'echo stopping; exit 0' TERM; sh -c 'sleep 60; echo never' & echo ready; wait"
    process = await sandbox.BubblewrapSandbox(tmp_path, CLOCK).start(spec_for("sh", "-c", script), sink)
    await eventually(lambda: sink.of("stdout") == [b"ready"], "the trap set up")
    grandchildren = [pid for pid in processes.group_members(process.pid) if pid != process.pid]
    process.signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 5.0) == 0
    assert sink.of("stdout") == [b"ready", b"stopping"]
    await all_gone(grandchildren)


@on_loop
async def test_sigkill_ends_the_whole_container(tmp_path: Path) -> None:
    process = await sandbox.BubblewrapSandbox(tmp_path, CLOCK).start(
        spec_for("sh", "-c", "sleep 60 & sleep 60"), Lines()
    )
    await eventually(lambda: len(sleepers(process.pid)) == 2, "both sleeps started")
    members = processes.group_members(process.pid)
    process.signal(signal.SIGKILL)
    assert await asyncio.wait_for(process.wait(), 5.0) == 137
    await all_gone(members)


@on_loop
async def test_run_kills_at_the_timeout_and_returns_output(tmp_path: Path) -> None:
    box = sandbox.BubblewrapSandbox(tmp_path, CLOCK)
    assert await box.run(spec_for("sh", "-c", "echo a; echo b >&2; exit 4"), 5.0) == (4, b"a\nb\n")
    started = time.monotonic()
    code, output = await box.run(spec_for("sh", "-c", "echo started; sleep 30"), 0.5)
    assert code == sandbox.TIMEOUT_EXIT_CODE
    assert output.startswith(b"started\n")
    assert time.monotonic() - started < 5.0


@on_loop
async def test_memory_limit_kills_with_137_and_reports_oom(tmp_path: Path) -> None:
    box = sandbox.BubblewrapSandbox(tmp_path, CLOCK)
    spec = spec_for("python3", "-c", "x = bytearray(400 << 20)")
    limited = ProcessSpec(**{**spec.__dict__, "memory_limit_bytes": 64 << 20})
    process = await box.start(limited, Lines())
    code = await process.wait()
    box.close()
    if not process.oom_killed and code == 0:
        pytest.skip("memory cgroups are not writable here: limits are recorded only")
    assert (code, process.oom_killed) == (137, True)
    directory = cgroups.cluster_directory(sandbox.cluster_prefix(tmp_path))
    assert directory is not None
    assert not directory[0].exists()


def test_the_executable_is_found_through_mounts_and_path(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    spec = spec_for("tool", mounts=(Mount(tmp_path, "/opt/bin"),), PATH="/opt/bin:/usr/bin")
    view = rootfs.full_view(spec, state_dir=None)
    assert rootfs.find_executable("tool", env=spec.env, workdir="/", view=view) == tool
    assert rootfs.find_executable("./tool", env={}, workdir="/opt/bin", view=view) == tool
    assert rootfs.find_executable("tool", env={}, workdir="/", view=view) is None


HELPER = """
import asyncio, sys
from pathlib import Path
from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet import sandbox
from kfval.embedded.kubelet.containers import PodNetwork, ProcessSpec

async def main():
    kind = sandbox.BubblewrapSandbox if sys.argv[2] == "bubblewrap" else sandbox.PlainSandbox
    box = kind(Path(sys.argv[1]), SystemClock())
    spec = ProcessSpec(argv=("sh", "-c", "sleep 120 & sleep 120"), env={}, workdir="/", mounts=(),
                       hostname="orphan", network=PodNetwork("127.1.0.1"))
    process = await box.start(spec, lambda stream, line: None)
    print(process.pid, flush=True)
    await asyncio.Event().wait()  # runs until the test kills it

asyncio.run(main())
"""


def start_helper(state_dir: Path, kind: str) -> tuple[subprocess.Popen[str], int]:
    """A stand-in cluster process that starts one container and prints its pid."""
    helper = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HELPER), str(state_dir), kind], stdout=subprocess.PIPE, text=True
    )
    assert helper.stdout is not None
    container_pid = int(helper.stdout.readline())
    eventually_blocking(lambda: len(sleepers(container_pid)) == 2, "the container's two sleeps", interval=0.02)
    return helper, container_pid


@on_loop
async def test_no_container_process_outlives_a_killed_cluster(tmp_path: Path) -> None:
    helper, container_pid = start_helper(tmp_path, "bubblewrap")
    members = processes.group_members(container_pid)
    assert len(members) >= 3
    assert Path(f"/proc/{container_pid}/comm").read_text().strip() == "bwrap"
    helper.kill()
    helper.wait()
    assert helper.stdout is not None
    helper.stdout.close()
    await all_gone(members)


@on_loop
async def test_reap_leftovers_after_a_sigkilled_cluster_kills_what_escaped(tmp_path: Path) -> None:
    helper, container_pid = start_helper(tmp_path, "plain")
    escaped = [pid for pid in processes.group_members(container_pid) if pid != container_pid]
    helper.kill()
    helper.wait()
    assert helper.stdout is not None
    helper.stdout.close()
    await all_gone([container_pid])
    assert escaped
    assert all(alive(pid) for pid in escaped), "a plain container's children survive the death signal"
    assert (await reaping.reap(tmp_path, CLOCK)).process_groups == (container_pid,)
    await all_gone(escaped)


@on_loop
async def test_reap_leftovers_kills_recorded_processes_that_escaped(tmp_path: Path) -> None:
    escaped = subprocess.Popen(["sleep", "60"], start_new_session=True)
    (tmp_path / processes.PID_FILE).write_text(f"{escaped.pid} {processes.process_start_time(escaped.pid)}\n")
    reaped = await reaping.reap(tmp_path, CLOCK)
    assert reaped.process_groups == (escaped.pid,)
    assert escaped.wait(timeout=2) == -signal.SIGKILL
    assert not (tmp_path / processes.PID_FILE).exists()


def test_reap_leftovers_spares_a_reused_pid(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        started = processes.process_start_time(bystander.pid)
        assert started is not None
        (tmp_path / processes.PID_FILE).write_text(f"{bystander.pid} {started - 1}\n")
        assert asyncio.run(reaping.reap(tmp_path, CLOCK)).process_groups == ()
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@on_loop
async def test_plain_sandbox_maps_workdir_and_runs_unsandboxed(tmp_path: Path) -> None:
    sink = Lines()
    spec = spec_for(
        "sh", "-c", "pwd; echo $MODE", mounts=(Mount(tmp_path, "/workspace"),), workdir="/workspace", MODE="x"
    )
    process = await sandbox.PlainSandbox(tmp_path, CLOCK).start(spec, sink)
    assert await process.wait() == 0
    assert sink.of("stdout") == [str(tmp_path).encode(), b"x"]


def test_a_process_whose_cluster_died_before_its_death_signal_was_set_ends_at_once() -> None:
    if not shutil.which("setpriv"):
        pytest.skip("without setpriv the death signal is set before exec, with no check")
    launcher = sandbox.ProcessLauncher(None, CLOCK)
    ran = subprocess.run([*launcher.chain(None, None), "echo", "ran"], capture_output=True, check=False)
    assert (ran.returncode, ran.stdout) == (0, b"ran\n")
    launcher.parent_pid = os.getpid() + 1  # as if its parent were already gone: init or a subreaper adopted it
    orphan = subprocess.run([*launcher.chain(None, None), "echo", "ran"], capture_output=True, check=False)
    assert (orphan.returncode, orphan.stdout) == (137, b"")


def test_a_mount_under_a_symlinked_directory_lands_where_the_link_points(tmp_path: Path) -> None:
    real = tmp_path / "run"
    real.mkdir()
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "run").symlink_to(real)
    target = str(tmp_path / "var" / "run" / "secrets" / "kubernetes.io" / "serviceaccount")
    assert rootfs.on_host_root(target) == str(real / "secrets" / "kubernetes.io" / "serviceaccount")
    assert rootfs.on_host_root(str(real / "secrets")) == str(real / "secrets")
    spec = spec_for("true", mounts=(Mount(source=tmp_path, target=target, read_only=True),))
    args = rootfs.filesystem_args(spec, state_dir=None)
    resolved = str(real / "secrets" / "kubernetes.io" / "serviceaccount")
    assert ["--ro-bind", str(tmp_path), resolved] == args[args.index(resolved) - 2 : args.index(resolved) + 1]
    assert target not in args
