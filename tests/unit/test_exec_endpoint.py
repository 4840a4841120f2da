"""The API server's half of pods/exec: its answers before the upgrade, and the stream after it.

A fake node stands in for the kubelet, so that each test states what the node does (refuses, echoes
stdin, exits 3) and sees what a WebSocket client of each protocol receives.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from kfval.embedded.admission.chain import Admission
from kfval.embedded.apiserver import auth, bootstrappolicy
from kfval.embedded.apiserver.app import build_app
from kfval.embedded.errors import ApiError, InternalError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ExecRequest, ExecResult, LogQuery, OutputStream
from tests.support.clock import FakeClock
from tests.support.loop import on_loop
from tests.support.polling import eventually

ADMIN = {"Authorization": "Bearer admin-token"}
EXEC = "/api/v1/namespaces/team/pods/{pod}/exec"
UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}


class EchoSession:
    """A command that says `err` on stderr, copies stdin (if any) to stdout until it closes, and exits 3."""

    def __init__(self, stdin: bool) -> None:
        self.chunks: asyncio.Queue[tuple[OutputStream, bytes] | None] = asyncio.Queue()
        self.chunks.put_nowait(("stderr", b"err"))
        if not stdin:
            self.chunks.put_nowait(None)
        self.sizes: list[tuple[int, int]] = []
        self.hung_up = asyncio.Event()

    async def output(self) -> AsyncIterator[tuple[OutputStream, bytes]]:
        while (item := await self.chunks.get()) is not None:
            yield item

    async def write_stdin(self, data: bytes) -> None:
        await self.chunks.put(("stdout", data))

    async def close_stdin(self) -> None:
        await self.chunks.put(None)

    def resize(self, width: int, height: int) -> None:
        self.sizes.append((width, height))

    def hang_up(self) -> None:
        self.hung_up.set()
        self.chunks.put_nowait(None)

    async def wait(self) -> ExecResult:
        return ExecResult(3, "error executing command [cat], exit code 3")


class FakeNode:
    """Records each exec it is asked for; refuses with `refusal` when one is set."""

    def __init__(self, refusal: ApiError | None = None) -> None:
        self.refusal = refusal
        self.requests: list[ExecRequest] = []
        self.sessions: list[EchoSession] = []

    async def exec(self, request: ExecRequest) -> EchoSession:
        self.requests.append(request)
        if self.refusal is not None:
            raise self.refusal
        self.sessions.append(EchoSession(request.stdin))
        return self.sessions[-1]


class NoLogs:
    async def read(self, query: LogQuery) -> Any:  # pragma: no cover - never asked for logs here
        raise AssertionError("no logs in this test")


def pod(name: str, *containers: str, node: str | None = "kfval-node", init: tuple[str, ...] = ()) -> Body:
    spec: Body = {"containers": [{"name": c, "image": "busybox"} for c in containers]}
    spec["initContainers"] = [{"name": c, "image": "busybox"} for c in init]
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name}, "spec": spec}


@pytest.fixture
def store() -> Store:
    made = Store(Catalog(), FakeClock(datetime(2026, 3, 4, tzinfo=UTC)))
    made.create(made.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "team"}})
    pods = made.catalog.lookup("", "v1", "pods")
    made.create(pods, pod("web", "main"), namespace="team")
    made.create(pods, pod("pair", "a", "b", init=("setup",)), namespace="team")
    made.create(pods, pod("pending", "main", node=None), namespace="team")
    bootstrappolicy.seed(made)
    return made


async def answer(store: Store, node: FakeNode, path: str, headers: dict[str, str], method: str = "GET") -> Any:
    """Status, content type and body of a request that is not upgraded."""
    app = build_app(
        store=store,
        admission=Admission(),
        logs=NoLogs(),
        executor=node,
        authority=auth.TokenAuthority("admin-token", store),
    )
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        key = {"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} if "Upgrade" in headers else {}
        async with session.request(method, server.make_url(path), headers={**ADMIN, **key, **headers}) as reply:
            return reply.status, reply.content_type, await reply.text()


def ask(store: Store, path: str, headers: dict[str, str], node: FakeNode | None = None, method: str = "GET") -> Any:
    return asyncio.run(answer(store, node or FakeNode(), path, headers, method))


def message_of(body: str) -> str:
    return str(json.loads(body)["message"])


def test_a_missing_pod_is_a_404_status_before_any_upgrade(store: Store) -> None:
    status, _, body = ask(store, EXEC.format(pod="nope") + "?command=ls&stdout=1", UPGRADE)
    assert (status, message_of(body)) == (404, 'pods "nope" not found')


@pytest.mark.parametrize(
    ("pod_name", "query", "message"),
    [
        ("web", "container=other", "container other is not valid for pod web"),
        ("pair", "", "a container name must be specified for pod pair, choose one of: [setup a b]"),
        ("pending", "", "pod pending does not have a host assigned"),
    ],
)
def test_what_kube_apiserver_refuses_itself_is_a_400_status(
    store: Store, pod_name: str, query: str, message: str
) -> None:
    status, _, body = ask(store, EXEC.format(pod=pod_name) + f"?command=ls&stdout=1&{query}", UPGRADE)
    assert (status, message_of(body)) == (400, message)


def test_an_exec_that_is_no_upgrade_is_told_so(store: Store) -> None:
    plain = ask(store, EXEC.format(pod="web") + "?command=ls&stdout=1", {})
    spdy = ask(store, EXEC.format(pod="web") + "?command=ls&stdout=1", {"Upgrade": "SPDY/3.1"}, method="POST")
    assert (plain[0], message_of(plain[2])) == (400, "Upgrade request required")
    assert spdy[0] == 400
    assert "not SPDY/3.1" in message_of(spdy[2])


def test_a_subprotocol_nobody_speaks_is_forbidden_as_the_kubelet_answers_it(store: Store) -> None:
    status, _, _ = ask(
        store,
        EXEC.format(pod="web") + "?command=ls&stdout=1",
        {**UPGRADE, "Sec-WebSocket-Protocol": "v3.channel.k8s.io"},
    )
    assert status == 403


def test_a_v4_client_gets_the_kubelets_refusal_as_plain_text_before_the_upgrade(store: Store) -> None:
    node = FakeNode(InternalError('container not found ("main")'))
    headers = {**UPGRADE, "Sec-WebSocket-Protocol": "v4.channel.k8s.io"}
    assert ask(store, EXEC.format(pod="web") + "?command=ls&stdout=1", headers, node) == (
        500,
        "text/plain",
        'container not found ("main")',
    )


async def exchange(
    store: Store, node: FakeNode, query: str, protocol: str, send: list[bytes], *, leave: bool = False
) -> tuple[str, list[bytes]]:
    """Connect as a WebSocket client, send `send`, and collect every message until the server closes.

    With `leave`, the client closes the connection right after sending instead.
    """
    app = build_app(
        store=store,
        admission=Admission(),
        logs=NoLogs(),
        executor=node,
        authority=auth.TokenAuthority("admin-token", store),
    )
    received: list[bytes] = []
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        url = server.make_url(EXEC.format(pod="web") + query)
        async with session.ws_connect(url, headers=ADMIN, protocols=(protocol,)) as ws:
            for message in send:
                await ws.send_bytes(message)
            if leave:
                await ws.close()
            async for message in ws:
                received.append(message.data)
            return ws.protocol or "", received


def test_a_v5_client_is_upgraded_first_and_reads_the_kubelets_refusal_on_the_error_channel(store: Store) -> None:
    node = FakeNode(InternalError('container not found ("main")'))
    protocol, received = asyncio.run(exchange(store, node, "?command=ls&stdout=true", "v5.channel.k8s.io", []))
    assert protocol == "v5.channel.k8s.io"
    assert received[0] == b"\x01"  # the empty message on the lowest channel the client reads
    status = json.loads(received[1][1:])
    assert received[1][0] == 3
    assert status["message"] == 'Internal error occurred: unable to upgrade connection: container not found ("main")'


def test_the_request_the_node_gets_names_the_container_the_command_and_the_streams(store: Store) -> None:
    node = FakeNode(InternalError("refused"))
    query = "?command=sh&command=-c&command=echo%20hi&stdin=true&stdout=true&stderr=true&tty=true"
    asyncio.run(exchange(store, node, query, "v5.channel.k8s.io", []))
    (request,) = node.requests
    assert (request.namespace, request.pod, request.container) == ("team", "web", "main")
    assert request.command == ("sh", "-c", "echo hi")
    assert (request.stdin, request.stdout, request.stderr, request.tty) == (True, True, False, True)
    assert request.uid == store.get(store.catalog.lookup("", "v1", "pods"), "team", "web")["metadata"]["uid"]


@on_loop
async def test_stdin_reaches_the_command_and_v5_close_ends_it(store: Store) -> None:
    node = FakeNode()
    send = [b"\x00hello ", b"\x00world", b'\x04{"Width":80,"Height":24}', b"\xff\x00"]
    query = "?command=cat&stdin=true&stdout=true&stderr=true"
    _, received = await exchange(store, node, query, "v5.channel.k8s.io", send)
    assert received[0] == b"\x01"
    assert b"".join(m[1:] for m in received if m[0] == 1) == b"hello world"
    assert [m for m in received if m[0] == 2] == [b"\x02err"]
    status = json.loads(received[-1][1:])
    assert status["message"] == "command terminated with non-zero exit code: command terminated with exit code 3"
    assert node.sessions[0].sizes == [(80, 24)]


@on_loop
async def test_a_v4_client_gets_the_kubelets_words_and_no_stream_it_did_not_ask_for(store: Store) -> None:
    _, received = await exchange(store, FakeNode(), "?command=cat&stdout=true", "v4.channel.k8s.io", [])
    assert received[0] == b"\x01"
    assert not [m for m in received if m[0] == 2]  # `err` went to stderr, which was not asked for
    status = json.loads(received[-1][1:])
    assert status["message"] == "command terminated with non-zero exit code: error executing command [cat], exit code 3"


@on_loop
async def test_a_client_that_leaves_hangs_the_command_up(store: Store) -> None:
    node = FakeNode()
    query = "?command=cat&stdin=true&stdout=true"
    await exchange(store, node, query, "v4.channel.k8s.io", [b"\x00x", b"\xff\x00"], leave=True)
    await eventually(node.sessions[0].hung_up.is_set, "the command hung up")
