"""A command started inside a running container for `pods/exec`: its raw streams and its terminal.

Container logs travel as lines (processes.py), but an exec session must relay bytes as they come:
a shell's prompt has no newline. With `tty` the command gets a pseudo-terminal whose size follows
the client's, and whose hang-up ends an interactive shell when the client goes away. Output is
read only as fast as the API server takes it, so a slow client slows the command down instead of
filling the cluster's memory. Processes are started only by sandbox.py; this module holds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import struct
import termios
from collections.abc import AsyncIterator
from pathlib import Path

from kfval.embedded.kubelet.processes import READ_CHUNK_BYTES, PidRegistry
from kfval.embedded.types import OutputStream

TIOCGPTN = 0x80045430
"""The pts number of a master (`ptsname`); Python's termios lacks it. asm-generic's value (x86, arm)."""
TIOCSPTLCK = 0x40045431
"""Lock or unlock a master's slave (`unlockpt`), asm-generic's value as above."""


class _HangUpIsEndOfFile(asyncio.StreamReaderProtocol):
    """A terminal's reader: EIO (every slave end closed) is its end of file, with nothing read lost."""

    def connection_lost(self, exc: Exception | None) -> None:
        hung_up = isinstance(exc, OSError) and exc.errno == errno.EIO
        super().connection_lost(None if hung_up else exc)


class Terminal:
    """A pseudo-terminal: the command gets the slave end, the cluster reads and writes the master.

    Given the container's /dev (as the host sees it, `/proc/<pid>/root/dev`), the terminal is made
    in the container's own devpts, as runc makes it, so that `tty` inside names a device the
    container can see; elsewhere, and where that fails, it is one of the host's.
    """

    def __init__(self, devices: Path | None = None) -> None:
        opened = _open_in(devices) if devices is not None else None
        self.master, self.slave = opened or os.openpty()
        self.reader = asyncio.StreamReader()
        self._writer: asyncio.WriteTransport | None = None
        self._read_transport: asyncio.ReadTransport | None = None

    async def connect(self) -> None:
        """Close the slave end here (the command holds it now) and start reading the master."""
        os.close(self.slave)
        loop = asyncio.get_running_loop()
        self._read_transport, _ = await loop.connect_read_pipe(
            lambda: _HangUpIsEndOfFile(self.reader), os.fdopen(self.master, "rb", buffering=0)
        )
        self._writer, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(os.dup(self.master), "wb", buffering=0)
        )

    def write(self, data: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    def resize(self, width: int, height: int) -> None:
        if self._read_transport is None or self._read_transport.is_closing():
            return  # the master is closed: its number may belong to another file by now
        with contextlib.suppress(OSError):
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    def hang_up(self) -> None:
        """Close the master: the kernel hangs up the command's session (SIGHUP), as a closed ssh does."""
        for transport in (self._writer, self._read_transport):
            if transport is not None:
                transport.close()

    def close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def abandon(self) -> None:
        """Close both ends when the command could not even be started."""
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def _open_in(devices: Path) -> tuple[int, int] | None:
    """A master and slave from the devpts instance under `devices` (its ptmx), None if it cannot be had."""
    try:
        master = os.open(devices / "ptmx", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        (number,) = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, struct.pack("I", 0)))
        return master, os.open(devices / "pts" / str(number), os.O_RDWR | os.O_NOCTTY)
    except OSError:
        os.close(master)
        return None


class ExecProcess:
    """A started exec: output as (stream, chunk), input, terminal size, and the exit code."""

    def __init__(
        self, process: asyncio.subprocess.Process, *, terminal: Terminal | None, registry: PidRegistry
    ) -> None:
        self.pid = process.pid
        self._process = process
        self._terminal = terminal
        self._registry = registry
        registry.add(self.pid)

    def _readers(self) -> list[tuple[OutputStream, asyncio.StreamReader]]:
        if self._terminal is not None:
            return [("stdout", self._terminal.reader)]
        pipes: list[tuple[OutputStream, asyncio.StreamReader | None]] = [
            ("stdout", self._process.stdout),
            ("stderr", self._process.stderr),
        ]
        return [(name, reader) for name, reader in pipes if reader is not None]

    async def output(self) -> AsyncIterator[tuple[OutputStream, bytes]]:
        """Chunks from stdout and stderr as they arrive (one terminal stream with `tty`), until both end."""
        pending = {
            asyncio.ensure_future(reader.read(READ_CHUNK_BYTES)): (name, reader) for name, reader in self._readers()
        }
        try:
            while pending:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    name, reader = pending.pop(task)
                    chunk = task.result()
                    if chunk:
                        pending[asyncio.ensure_future(reader.read(READ_CHUNK_BYTES))] = (name, reader)
                        yield name, chunk
        finally:
            for task in pending:
                task.cancel()

    async def write_stdin(self, data: bytes) -> None:
        if self._terminal is not None:
            self._terminal.write(data)
            return
        stdin = self._process.stdin
        if stdin is None or stdin.is_closing():
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()

    async def close_stdin(self) -> None:
        stdin = self._process.stdin
        if self._terminal is None and stdin is not None and not stdin.is_closing():
            stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await stdin.wait_closed()

    def resize(self, width: int, height: int) -> None:
        if self._terminal is not None and width > 0 and height > 0:
            self._terminal.resize(width, height)

    def hang_up(self) -> None:
        if self._terminal is not None:
            self._terminal.hang_up()
        elif self._process.stdin is not None:
            self._process.stdin.close()

    async def wait(self) -> int:
        """The exit code; a command killed by signal N reports 128 + N, as container runtimes do."""
        returncode = await self._process.wait()
        self._registry.discard(self.pid)
        if self._terminal is not None:
            self._terminal.close_writer()
        return 128 - returncode if returncode < 0 else returncode
