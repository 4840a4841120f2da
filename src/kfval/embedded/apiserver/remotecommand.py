"""`pods/exec`: a command run in a pod's running container, its streams carried over a WebSocket.

kube-apiserver checks the pod, the container and the pod's node itself and answers those failures
with a Status before any upgrade. Then it serves the stream in one of two ways that clients can
tell apart, and both are kept:

- a client offering v5 (kubectl 1.30+, the Python client) gets the API server's own WebSocket (its
  stream translator), and learns only then what the kubelet said: a refusal arrives on the error
  channel as `Internal error occurred: unable to upgrade connection: container not found ("c")`,
  an exit code as `command terminated with non-zero exit code: command terminated with exit code 3`;
- any other client is handed to the kubelet, whose refusal is a plain-text HTTP error before the
  upgrade and whose Status carries containerd's words (`... error executing command [sh -c exit 3],
  exit code 3`).

SPDY, kubectl's fallback when the WebSocket upgrade fails, is not spoken: an upgrade to it gets a
Status saying so, which kubectl prints as `Error from server (BadRequest): ...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re

from aiohttp import WSMsgType, web

from kfval.embedded.apiserver import channels, parameters
from kfval.embedded.apiserver import status as statuses
from kfval.embedded.apiserver.paths import Target
from kfval.embedded.apiserver.resources import Context
from kfval.embedded.errors import ApiError, BadRequestError, MethodNotAllowedError
from kfval.embedded.types import Body, ExecRequest, ExecResult, ExecSession, Executor

CONNECTION_UPGRADE = re.compile(r"(^|.*,\s*)upgrade($|\s*,)")
SPDY_REFUSAL = (
    "unable to upgrade connection: the embedded cluster serves pods/exec over WebSocket only "
    "(v5.channel.k8s.io, v4.channel.k8s.io), not SPDY/3.1"
)


def is_websocket(request: web.Request) -> bool:
    """wsstream.IsWebSocketRequest: `Upgrade: websocket` and an upgrade token in `Connection`."""
    headers = request.headers
    return headers.get("Upgrade", "").lower() == "websocket" and bool(
        CONNECTION_UPGRADE.match(headers.get("Connection", "").lower())
    )


def _container(pod: Body, wanted: str) -> str:
    """The container the request means, with kube-apiserver's 400s (validateContainer)."""
    spec, name = pod.get("spec") or {}, pod["metadata"]["name"]
    every = [
        *(spec.get("initContainers") or []),
        *(spec.get("containers") or []),
        *(spec.get("ephemeralContainers") or []),
    ]
    if wanted:
        if not any(c.get("name") == wanted for c in every):
            raise BadRequestError(f"container {wanted} is not valid for pod {name}")
        return wanted
    regular = spec.get("containers") or []
    if len(regular) == 1:
        return str(regular[0].get("name", ""))
    if not regular:
        raise BadRequestError(f"a container name must be specified for pod {name}")
    names = " ".join(str(c.get("name", "")) for c in every)
    raise BadRequestError(f"a container name must be specified for pod {name}, choose one of: [{names}]")


def exec_request(request: web.Request, target: Target, ctx: Context) -> ExecRequest:
    """PodExecOptions from the query, for a pod that exists, a container it has, and a node it is on."""
    assert target.name is not None and target.namespace is not None
    query = request.query
    pod = ctx.store.get(target.rt, target.namespace, target.name)
    container = _container(pod, query.get("container", ""))
    if not (pod.get("spec") or {}).get("nodeName"):
        raise BadRequestError(f"pod {target.name} does not have a host assigned")
    tty = parameters.flag(query, "tty")
    return ExecRequest(
        namespace=target.namespace,
        pod=target.name,
        uid=str(pod["metadata"].get("uid", "")),
        container=container,
        command=tuple(query.getall("command", [])),
        stdin=parameters.flag(query, "stdin"),
        stdout=parameters.flag(query, "stdout"),
        stderr=parameters.flag(query, "stderr") and not tty,
        tty=tty,
    )


async def exec_command(request: web.Request, target: Target, ctx: Context, executor: Executor) -> web.StreamResponse:
    if request.method not in ("GET", "POST"):
        raise MethodNotAllowedError(
            f"the server does not allow this method on the requested resource ({request.method})"
        )
    call = exec_request(request, target, ctx)
    if not is_websocket(request):
        spdy = request.headers.get("Upgrade", "").lower().startswith("spdy/")
        raise BadRequestError(SPDY_REFUSAL if spdy else "Upgrade request required")
    protocol = channels.negotiate(request.headers.get("Sec-WebSocket-Protocol"))
    if protocol is None:
        return web.Response(status=403)  # what the kubelet's WebSocket server answers an unknown subprotocol
    if protocol is channels.V5:
        return await _translated(request, protocol, call, executor)
    try:
        session = await executor.exec(call)
    except ApiError as refusal:
        return web.Response(status=refusal.code, text=refusal.message)
    try:
        stream = await _Stream.open(request, protocol, call)
    except BaseException:
        session.hang_up()  # the client is gone before the upgrade: its command gets no input either
        raise
    await stream.serve(session)
    return stream.ws


async def _translated(
    request: web.Request, protocol: channels.ChannelProtocol, call: ExecRequest, executor: Executor
) -> web.StreamResponse:
    """The v5 path: upgrade first, then ask the node; what it refuses ends up on the error channel."""
    stream = await _Stream.open(request, protocol, call)
    try:
        session = await executor.exec(call)
    except ApiError as refusal:
        await stream.finish(statuses.stream_internal_error(f"unable to upgrade connection: {refusal.message}"))
        return stream.ws
    await stream.serve(session)
    return stream.ws


def final_status(protocol: channels.ChannelProtocol, result: ExecResult) -> Body:
    """The error channel's Status for how the command ended, worded by whoever writes it for `protocol`."""
    if result.exit_code == 0:
        return statuses.stream_success()
    if protocol is channels.V5:
        if result.exit_code is None:  # the kubelet's InternalError, read back by the translator's SPDY client
            kubelet_status = statuses.stream_internal_error(result.message)
            return statuses.stream_internal_error(str(kubelet_status["message"]))
        return statuses.stream_exit_code(result.exit_code, f"command terminated with exit code {result.exit_code}")
    if result.exit_code is None:
        return statuses.stream_internal_error(result.message)
    return statuses.stream_exit_code(result.exit_code, result.message)


class _Stream:
    """One upgraded exec connection: frames in, frames out, and the final Status."""

    def __init__(self, ws: web.WebSocketResponse, protocol: channels.ChannelProtocol, call: ExecRequest) -> None:
        self.ws = ws
        self._protocol = protocol
        self._open = {channels.STDOUT: call.stdout, channels.STDERR: call.stderr, channels.STDIN: call.stdin}

    @classmethod
    async def open(cls, request: web.Request, protocol: channels.ChannelProtocol, call: ExecRequest) -> _Stream:
        """Upgrade, then say so with an empty message on the lowest channel the client reads, as upstream does."""
        ws = web.WebSocketResponse(protocols=(protocol.name,) if protocol.name else ())
        await ws.prepare(request)
        stream = cls(ws, protocol, call)
        first = channels.STDOUT if call.stdout else channels.STDERR if call.stderr else channels.ERROR
        await stream._send(first, b"")
        return stream

    async def _send(self, channel: int, data: bytes) -> None:
        message = self._protocol.encode(channel, data)
        with contextlib.suppress(ConnectionError, RuntimeError):
            if isinstance(message, str):
                await self.ws.send_str(message)
            else:
                await self.ws.send_bytes(message)

    async def serve(self, session: ExecSession) -> None:
        """Relay until the command has ended and its output is out, then report how it ended."""
        inbound = asyncio.ensure_future(self._receive(session))
        try:
            async for stream, chunk in session.output():
                channel = channels.STDOUT if stream == "stdout" else channels.STDERR
                if self._open[channel] and not self.ws.closed:
                    await self._send(channel, chunk)
            result = await session.wait()
        finally:
            inbound.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await inbound
        await self.finish(final_status(self._protocol, result))

    async def _receive(self, session: ExecSession) -> None:
        """Client frames: stdin data, stdin closed (v5), terminal sizes; a gone client hangs the command up."""
        resizes = channels.ResizeDecoder()
        try:
            async for message in self.ws:
                if message.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                frame = self._protocol.decode(message.data)
                if frame is None:
                    continue
                if frame.channel == channels.STDIN and self._open[channels.STDIN]:
                    await (session.close_stdin() if frame.closed else session.write_stdin(frame.data))
                elif frame.channel == channels.RESIZE and not frame.closed:
                    for width, height in resizes.feed(frame.data):
                        session.resize(width, height)
        except channels.ChannelProtocolError:
            await self.ws.close()
        session.hang_up()

    async def finish(self, status: Body) -> None:
        """Write the final Status (v1 protocols: a failure's message only), then close the connection."""
        if self._protocol.status_as_json:
            await self._send(channels.ERROR, json.dumps(status, separators=(",", ":")).encode())
        elif status["status"] != "Success":
            await self._send(channels.ERROR, str(status["message"]).encode())
        await self.ws.close()
