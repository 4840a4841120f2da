"""A loopback TCP proxy in front of an API server, with faults switched on for a number of seconds.

Outside a fault it passes bytes both ways unchanged, TLS included: it never sees a request. Each fault
starts when it is called, returns at once and ends by itself `seconds` later:

- `outage`: every open connection is reset (RST) and the port refuses new ones (its listening socket is
  closed), as while an API server restarts.
- `stall`: every open connection, and every new one, stops passing bytes and never passes any again
  (they stay open until the client gives up), as when a load balancer or a NAT forgets its connections.
  Connections made after the stall pass bytes as usual. Only a read timeout gets a client out of one.
- `unavailable`: open connections are reset, and new ones are answered `503 Service Unavailable` with a
  `kind: Status` body and `Retry-After: 1`, as a load balancer with no healthy API server behind it
  answers. An HTTP answer needs the TLS terminated: the proxy does it with the cluster's own serving
  certificate and key (its state dir's `pki/`), as a TLS-terminating load balancer holds the server's
  certificate, so the client's verification against the kubeconfig's CA is the real one. Without a
  certificate (a plain-HTTP cluster) it answers in plain HTTP.
- `slow`: every chunk the server sends waits `delay` seconds before it is passed on.
- `lose_answers`: what clients send on open connections still reaches the server, but the first byte of
  an answer resets the connection instead, and new connections are refused: a create or delete that
  took effect although its answer was lost.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import yaml

from kfval.embedded import launch

HOST = "127.0.0.1"
CHUNK_BYTES = 65536
CONTROL_TIMEOUT_SECONDS = 10.0
_PEER_GONE: tuple[type[BaseException], ...] = (ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError)
"""How a connection ends when the other side resets or drops it: the pipe closes, nothing more to do."""
_UNAVAILABLE = json.dumps(
    {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the API server is unavailable (fault injected by tests/faults)",
        "reason": "ServiceUnavailable",
        "code": 503,
    }
).encode()


@dataclass(frozen=True)
class Fault:
    """A fault the proxy played: its kind, when it started (time.monotonic) and how long it lasted."""

    kind: str
    started: float
    seconds: float


@dataclass(eq=False)
class _Pipe:
    """One client connection and the connection to the server it is relayed to."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    stalled: bool = False
    losing: bool = False


class FaultProxy:
    """`with FaultProxy.for_cluster(info) as proxy:` a proxy on 127.0.0.1, its own event loop in a thread."""

    def __init__(self, upstream: str, *, certificate: tuple[Path, Path] | None = None) -> None:
        parts = urlsplit(upstream)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"{upstream} names no host and port")
        self.scheme = parts.scheme
        self.port = 0
        self.faults: list[Fault] = []
        self._upstream = (parts.hostname, parts.port)
        self._certificate = certificate
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._listener: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._until: dict[str, float] = {}
        self._refusing_until = 0.0
        self._delay = 0.0

    @classmethod
    def for_cluster(cls, info: launch.ClusterInfo) -> FaultProxy:
        pki = info.state_dir / "pki"
        return cls(info.server, certificate=(pki / "apiserver.crt", pki / "apiserver.key"))

    @property
    def server(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"

    def kubeconfig(self, original: Path, path: Path) -> Path:
        """A copy of `original` whose clusters are reached through the proxy."""
        config = yaml.safe_load(original.read_text())
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = self.server
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._control(self._listen())
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._control(self._shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CONTROL_TIMEOUT_SECONDS)
        self._loop.close()

    # -- the faults ----------------------------------------------------------------------------------

    def outage(self, seconds: float) -> None:
        self._play("outage", seconds, self._outage(seconds))

    def stall(self, seconds: float) -> None:
        self._play("stall", seconds, self._stall(seconds))

    def unavailable(self, seconds: float) -> None:
        self._play("unavailable", seconds, self._unavailable(seconds))

    def slow(self, seconds: float, *, delay: float) -> None:
        self._play("slow", seconds, self._slow(seconds, delay))

    def lose_answers(self, seconds: float) -> None:
        self._play("lose_answers", seconds, self._lose_answers(seconds))

    def _play(self, kind: str, seconds: float, coroutine: Coroutine[Any, Any, None]) -> None:
        self.faults.append(Fault(kind, time.monotonic(), seconds))
        self._control(coroutine)

    def _control(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(CONTROL_TIMEOUT_SECONDS)

    # -- on the proxy's loop -------------------------------------------------------------------------

    async def _outage(self, seconds: float) -> None:
        self._mark("outage", seconds)
        for pipe in list(self._pipes):
            _reset(pipe)
        self._refuse(seconds)

    async def _stall(self, seconds: float) -> None:
        self._mark("stall", seconds)
        for pipe in self._pipes:
            pipe.stalled = True

    async def _unavailable(self, seconds: float) -> None:
        self._mark("unavailable", seconds)
        for pipe in list(self._pipes):
            _reset(pipe)

    async def _slow(self, seconds: float, delay: float) -> None:
        self._delay = delay
        self._mark("slow", seconds)

    async def _lose_answers(self, seconds: float) -> None:
        self._mark("lose_answers", seconds)
        losing = list(self._pipes)
        for pipe in losing:
            pipe.losing = True
        self._loop.call_later(seconds, lambda: [setattr(pipe, "losing", False) for pipe in losing])
        self._refuse(seconds)

    def _mark(self, kind: str, seconds: float) -> None:
        self._until[kind] = max(self._until.get(kind, 0.0), self._loop.time() + seconds)

    def _active(self, kind: str) -> bool:
        return self._loop.time() < self._until.get(kind, 0.0)

    def _refuse(self, seconds: float) -> None:
        """Close the listening socket (connects are refused) and open it again once no fault refuses."""
        self._refusing_until = max(self._refusing_until, self._loop.time() + seconds)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._loop.call_later(seconds, self._reopen)

    def _reopen(self) -> None:
        if self._listener is None and self._loop.time() >= self._refusing_until - 0.001:
            self._keep(self._loop.create_task(self._listen()))

    async def _listen(self) -> None:
        if self._listener is None:
            self._listener = await asyncio.start_server(self._accept, HOST, self.port, reuse_address=True)
            self.port = self._listener.sockets[0].getsockname()[1]

    async def _shut(self) -> None:
        if self._listener is not None:
            self._listener.close()
        for pipe in list(self._pipes):
            _reset(pipe)
        for task in list(self._tasks):
            task.cancel()

    def _keep(self, task: asyncio.Future[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pipe = _Pipe(writer)
        self._pipes.add(pipe)
        try:
            if self._active("stall"):
                pipe.stalled = True
                await _drop(reader)
            elif self._active("unavailable"):
                await self._answer_unavailable(reader, writer)
            else:
                await self._relay(pipe, reader)
        except _PEER_GONE:
            pass  # a reset or dropped connection ends its pipe; the client sees exactly that
        finally:
            self._pipes.discard(pipe)
            _close(pipe)

    async def _relay(self, pipe: _Pipe, reader: asyncio.StreamReader) -> None:
        server_reader, pipe.server = await asyncio.open_connection(*self._upstream)
        requests = asyncio.ensure_future(self._pump(pipe, reader, pipe.server, answers=False))
        answers = asyncio.ensure_future(self._pump(pipe, server_reader, pipe.client, answers=True))
        self._keep(requests)
        self._keep(answers)
        done, _ = await asyncio.wait({requests, answers}, return_when=asyncio.FIRST_COMPLETED)
        if answers in done and pipe.stalled:
            await requests  # a black hole: the client notices nothing until it gives up on the connection
        requests.cancel()
        answers.cancel()

    async def _pump(
        self, pipe: _Pipe, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, answers: bool
    ) -> None:
        try:
            while data := await reader.read(CHUNK_BYTES):
                if answers and pipe.losing:
                    _reset(pipe)
                    return
                if answers and self._active("slow"):
                    await asyncio.sleep(self._delay)
                if pipe.stalled or writer.is_closing():
                    continue
                writer.write(data)
                await writer.drain()
        except _PEER_GONE:
            return  # the connection was reset or dropped: the pipe closes behind it

    async def _answer_unavailable(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self._certificate)
            await writer.start_tls(context)
        await reader.readuntil(b"\r\n\r\n")
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            f"Content-Length: {len(_UNAVAILABLE)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + _UNAVAILABLE)
        await writer.drain()


async def _drop(reader: asyncio.StreamReader) -> None:
    """Read and drop what the client sends until it gives up."""
    while await reader.read(CHUNK_BYTES):
        pass


def _reset(pipe: _Pipe) -> None:
    """Abort both connections with a TCP reset (SO_LINGER 0), as a crashed server's host answers."""
    for writer in (pipe.client, pipe.server):
        if writer is None:
            continue
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.fileno() >= 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()


def _close(pipe: _Pipe) -> None:
    for writer in (pipe.client, pipe.server):
        if writer is not None and not writer.is_closing():
            writer.close()
