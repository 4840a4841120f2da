"""Commands exec'd into real running bubblewrap containers: which namespaces they share, their streams."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet import processes, sandbox
from kfval.embedded.kubelet.containers import ContainerStartError, ExecTarget, PodNetwork, ProcessSpec
from kfval.embedded.kubelet.sessions import ExecProcess
from tests.support.host import needs_root_and
from tests.support.loop import on_loop
from tests.support.polling import eventually

pytestmark = needs_root_and("bwrap")
CLOCK = SystemClock()
READ_SYSCALL = {"x86_64": 0, "aarch64": 63}[os.uname().machine]  # read(2), as /proc/PID/syscall numbers it
CONTAINER = "echo marked > /tmp/mark; exec sleep 60"


def spec_for(*argv: str, memory_limit_bytes: int | None = None) -> ProcessSpec:
    return ProcessSpec(
        argv=argv,
        env={"ROLE": "worker"},
        workdir="/srv/work",
        mounts=(),
        hostname="trainer-0",
        network=PodNetwork("127.1.0.9"),
        memory_limit_bytes=memory_limit_bytes,
    )


async def running(box: sandbox.BubblewrapSandbox | sandbox.PlainSandbox, spec: ProcessSpec) -> ExecTarget:
    """A started container; in bubblewrap, once its script has written /tmp/mark (in its own /tmp)."""
    process = await box.start(spec, lambda stream, line: None)
    if isinstance(box, sandbox.BubblewrapSandbox) and "mark" in " ".join(spec.argv):

        def marked() -> bool:
            holders = processes.children(process.pid)
            return bool(holders) and Path(f"/proc/{holders[0]}/root/tmp/mark").exists()

        await eventually(marked, "the container's /tmp/mark")
    return ExecTarget(spec, process)


async def stop(target: ExecTarget) -> None:
    target.process.signal(9)
    await target.process.wait()


async def output_of(session: ExecProcess) -> tuple[int, bytes, bytes]:
    out, err = b"", b""
    async for stream, chunk in session.output():
        if stream == "stdout":
            out += chunk
        else:
            err += chunk
    return await session.wait(), out, err


@on_loop
async def test_an_exec_enters_the_running_containers_namespaces(tmp_path: Path) -> None:
    box = sandbox.BubblewrapSandbox(tmp_path, CLOCK)
    target = await running(box, spec_for("sh", "-c", CONTAINER))
    script = "cat /tmp/mark; hostname; pwd; echo $ROLE; cat /proc/[0-9]*/comm | grep -c sleep"
    code, out, _ = await output_of(await box.exec(target, ("sh", "-c", script), stdin=False, tty=False))
    await stop(target)
    assert (code, out.decode().split()) == (0, ["marked", "trainer-0", "/srv/work", "worker", "1"])


@on_loop
async def test_without_entering_namespaces_the_exec_gets_a_sandbox_built_like_the_containers(tmp_path: Path) -> None:
    box = sandbox.BubblewrapSandbox(tmp_path, CLOCK, enter_namespaces=False)
    target = await running(box, spec_for("sh", "-c", CONTAINER))
    script = "test -e /tmp/mark || echo fresh-tmp; hostname; pwd; echo $ROLE"
    code, out, _ = await output_of(await box.exec(target, ("sh", "-c", script), stdin=False, tty=False))
    await stop(target)
    assert (code, out.decode().split()) == (0, ["fresh-tmp", "trainer-0", "/srv/work", "worker"])


@on_loop
async def test_stdout_stderr_and_the_end_of_stdin_reach_their_ends(tmp_path: Path) -> None:
    box = sandbox.BubblewrapSandbox(tmp_path, CLOCK)
    target = await running(box, spec_for("sleep", "60"))
    session = await box.exec(target, ("sh", "-c", "cat; echo done >&2; exit 3"), stdin=True, tty=False)
    await session.write_stdin(b"piped\n")
    await session.close_stdin()
    result = await output_of(session)
    await stop(target)
    assert result == (3, b"piped\n", b"done\n")


@on_loop
async def test_a_terminal_made_in_the_containers_devpts_follows_the_clients_size(tmp_path: Path) -> None:
    box = sandbox.BubblewrapSandbox(tmp_path, CLOCK)
    target = await running(box, spec_for("sleep", "60"))
    session = await box.exec(target, ("sh",), stdin=True, tty=True)
    session.resize(100, 40)
    await session.write_stdin(b"tty; stty size; echo $TERM; exit 4\n")
    code, out, err = await output_of(session)
    await stop(target)
    lines = out.decode().replace("\r", "").splitlines()
    assert (code, err) == (4, b"")
    assert any(line.endswith("/dev/pts/0") for line in lines)  # a device the container itself can see
    assert "40 100" in lines
    assert "xterm" in lines


@on_loop
async def test_hanging_up_a_terminal_ends_its_shell(tmp_path: Path) -> None:
    box = sandbox.BubblewrapSandbox(tmp_path, CLOCK)
    target = await running(box, spec_for("sleep", "60"))
    session = await box.exec(target, ("sh",), stdin=True, tty=True)
    await session.write_stdin(b"echo re''ady\n")
    hung_up = False
    seen = b""
    async for _, chunk in session.output():
        seen += chunk
        if b"ready" in seen and not hung_up:
            await eventually(lambda: reading_its_terminal(session.pid), "the shell blocked reading its terminal")
            session.hang_up()
            hung_up = True
    code = await session.wait()
    await stop(target)
    assert code == 128 + 1  # SIGHUP


def reading_its_terminal(pid: int) -> bool:
    """Whether `pid` or a descendant sits in read(0, ...): hung up before that, the shell may die writing its prompt
    (EIO, exit 2) before the kernel's SIGHUP reaches it, a race a real runtime has too."""
    for member in (pid, *descendants(pid)):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{member}/syscall").read_text().startswith(f"{READ_SYSCALL} 0x0 "):
                return True
    return False


def descendants(pid: int) -> list[int]:
    found = processes.children(pid)
    return [*found, *(grandchild for child in found for grandchild in descendants(child))]


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        ("nope", 'exec: "nope": executable file not found in $PATH'),
        ("/bin/nope", 'exec: "/bin/nope": stat /bin/nope: no such file or directory'),
        ("/etc", 'exec: "/etc": permission denied'),
    ],
)
@on_loop
async def test_a_command_that_cannot_run_is_refused_in_runcs_words(tmp_path: Path, command: str, refusal: str) -> None:
    box = sandbox.BubblewrapSandbox(tmp_path, CLOCK)
    target = await running(box, spec_for("sleep", "60"))
    with pytest.raises(ContainerStartError) as refused:
        await box.exec(target, (command,), stdin=False, tty=False)
    await stop(target)
    assert str(refused.value) == f"unable to start container process: {refusal}"


@on_loop
async def test_an_exec_joins_its_containers_memory_cgroup(tmp_path: Path) -> None:
    box = sandbox.BubblewrapSandbox(tmp_path, CLOCK)
    target = await running(box, spec_for("sleep", "60", memory_limit_bytes=256 * 1024 * 1024))
    holder = await eventually(lambda: processes.children(target.process.pid), "the sandbox's init")
    cgroup = box.launcher.memory.holding(holder[0])
    code, out, _ = await output_of(await box.exec(target, ("cat", "/proc/self/cgroup"), stdin=False, tty=False))
    await stop(target)
    if cgroup is None:
        pytest.skip("no writable memory cgroup controller here")
    assert code == 0
    assert cgroup.path.name in out.decode()


@on_loop
async def test_a_plain_exec_has_the_containers_environment(tmp_path: Path) -> None:
    box = sandbox.PlainSandbox(tmp_path, CLOCK)
    target = await running(box, spec_for("sleep", "60"))
    session = await box.exec(target, ("sh", "-c", "read line; echo $ROLE $line"), stdin=True, tty=False)
    await session.write_stdin(b"given\n")
    result = await output_of(session)
    await stop(target)
    assert result == (0, b"worker given\n", b"")
