"""The node's half of `pods/exec`: find the running container, refuse as the kubelet does, run the command.

kubectl prints what the kubelet and the container runtime (containerd with runc) say when an exec
goes wrong, word for word, and scripts match on it, so their words are kept here:

- no running container of that name: the kubelet's HTTP 500 `container not found ("main")`;
- no stream asked for: its HTTP 400 `you must specify at least 1 of stdin, stdout, stderr`;
- a command that cannot be started: `error executing command in container: failed to exec in
  container: failed to start exec "<id>": OCI runtime exec failed: exec failed: unable to start
  container process: exec: "nope": executable file not found in $PATH: unknown`;
- a non-zero exit: `error executing command [sh -c exit 3], exit code 3`, with the code.

How the Status objects that carry these look is the API server's business (status.py).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Sequence

from kfval.embedded.errors import BadRequestError, InternalError
from kfval.embedded.kubelet.containers import ContainerStartError, RunningCommand
from kfval.embedded.kubelet.pods import Kubelet
from kfval.embedded.types import ExecRequest, ExecResult, ExecSession, OutputStream

EXEC_ID_BYTES = 32


def go_list(words: Sequence[str]) -> str:
    """A string slice as Go's `%v` prints it: `[sh -c exit 3]`."""
    return "[" + " ".join(words) + "]"


def start_failure(runc_error: str) -> str:
    """The kubelet's message for a command containerd could not start, with runc's reason inside."""
    exec_id = secrets.token_hex(EXEC_ID_BYTES)
    return (
        f'error executing command in container: failed to exec in container: failed to start exec "{exec_id}": '
        f"OCI runtime exec failed: exec failed: {runc_error}: unknown"
    )


class ContainerExecutor:
    """Runs `pods/exec` commands in the containers this node's kubelet runs."""

    def __init__(self, kubelet: Kubelet) -> None:
        self._kubelet = kubelet

    async def exec(self, request: ExecRequest) -> ExecSession:
        if not (request.stdin or request.stdout or request.stderr):
            raise BadRequestError("you must specify at least 1 of stdin, stdout, stderr")
        target = self._kubelet.exec_target(request.uid, request.container)
        if target is None:
            raise InternalError(f"container not found ({json.dumps(request.container, ensure_ascii=False)})")
        try:
            process = await self._kubelet.sandbox.exec(target, request.command, stdin=request.stdin, tty=request.tty)
        except ContainerStartError as error:
            return FailedExec(start_failure(str(error)))
        return RunningExec(process, request.command)


class RunningExec:
    """A started command, ending in containerd's words."""

    def __init__(self, process: RunningCommand, command: Sequence[str]) -> None:
        self._process = process
        self._command = command

    def output(self) -> AsyncIterator[tuple[OutputStream, bytes]]:
        return self._process.output()

    async def write_stdin(self, data: bytes) -> None:
        await self._process.write_stdin(data)

    async def close_stdin(self) -> None:
        await self._process.close_stdin()

    def resize(self, width: int, height: int) -> None:
        self._process.resize(width, height)

    def hang_up(self) -> None:
        self._process.hang_up()

    async def wait(self) -> ExecResult:
        code = await self._process.wait()
        if code == 0:
            return ExecResult(0)
        return ExecResult(code, f"error executing command {go_list(self._command)}, exit code {code}")


class FailedExec:
    """A command the runtime could not start: no output, and the kubelet's error as its end."""

    def __init__(self, message: str) -> None:
        self._message = message

    async def output(self) -> AsyncIterator[tuple[OutputStream, bytes]]:
        nothing: tuple[tuple[OutputStream, bytes], ...] = ()
        for item in nothing:
            yield item

    async def write_stdin(self, data: bytes) -> None:
        return None

    async def close_stdin(self) -> None:
        return None

    def resize(self, width: int, height: int) -> None:
        return None

    def hang_up(self) -> None:
        return None

    async def wait(self) -> ExecResult:
        return ExecResult(None, self._message)
