"""Probes against real sockets, with the kubelet's messages and thresholds."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet.probes import ProbeResult, ProbeTracker, event_message, run_probe
from kfval.embedded.types import Body

HOST = "127.0.0.1"


async def _no_exec(argv: Sequence[str], timeout: float) -> tuple[int, bytes]:
    raise AssertionError("exec_in must not be called")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.Response(text="late")


def _app() -> web.Application:
    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/fail", _fail)
    app.router.add_get("/moved", _redirect)
    app.router.add_get("/slow", _slow)
    return app


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text=request.headers.get("X-Probe", "") + request.headers["User-Agent"])


async def _fail(request: web.Request) -> web.Response:
    return web.Response(status=500)


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ok")


def _with_server(check: Callable[[int], Awaitable[None]]) -> None:
    async def main() -> None:
        runner = web.AppRunner(_app())
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            await check(port)
        finally:
            await runner.cleanup()

    asyncio.run(main())


def _http(path: str, port: int | str, **extra: object) -> Body:
    return {"httpGet": {"path": path, "port": port, **extra}}


def test_http_success_failure_and_redirect() -> None:
    async def check(port: int) -> None:
        ok = await run_probe(
            _http("/ok", port, httpHeaders=[{"name": "X-Probe", "value": "hi|"}]), pod_ip=HOST, exec_in=_no_exec
        )
        assert ok == ProbeResult(True, "hi|kube-probe/1.32")
        failed = await run_probe(
            _http("/fail", "web", scheme="HTTP"), pod_ip=HOST, exec_in=_no_exec, ports={"web": port}
        )
        assert failed == ProbeResult(False, "HTTP probe failed with statuscode: 500")
        moved = await run_probe(_http("/moved", port), pod_ip=HOST, exec_in=_no_exec)
        assert moved.success

    _with_server(check)


def test_http_timeout() -> None:
    async def check(port: int) -> None:
        result = await run_probe({**_http("/slow", port), "timeoutSeconds": 1}, pod_ip=HOST, exec_in=_no_exec)
        assert not result.success
        url = f"http://{HOST}:{port}/slow"
        assert (
            result.message == f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
        )

    _with_server(check)


def test_http_connection_refused_message() -> None:
    port = _closed_port()
    result = asyncio.run(run_probe(_http("/", port), pod_ip=HOST, exec_in=_no_exec))
    expected = f'Get "http://{HOST}:{port}/": dial tcp {HOST}:{port}: connect: connection refused'
    assert result == ProbeResult(False, expected)
    assert event_message("Readiness", result) == f"Readiness probe failed: {expected}"


def test_tcp_socket() -> None:
    async def check(port: int) -> None:
        assert (await run_probe({"tcpSocket": {"port": port}}, pod_ip=HOST, exec_in=_no_exec)).success

    _with_server(check)
    closed = _closed_port()
    refused = asyncio.run(run_probe({"tcpSocket": {"port": closed}}, pod_ip=HOST, exec_in=_no_exec))
    assert refused == ProbeResult(False, f"dial tcp {HOST}:{closed}: connect: connection refused")


def test_exec_and_grpc() -> None:
    calls: list[tuple[list[str], float]] = []

    async def exec_in(argv: Sequence[str], timeout: float) -> tuple[int, bytes]:
        calls.append((list(argv), timeout))
        return (0 if argv[-1] == "ok" else 1), b"output of " + argv[-1].encode()

    ok = asyncio.run(run_probe({"exec": {"command": ["check", "ok"]}}, pod_ip=HOST, exec_in=exec_in))
    bad = asyncio.run(
        run_probe({"exec": {"command": ["check", "bad"]}, "timeoutSeconds": 5}, pod_ip=HOST, exec_in=exec_in)
    )
    assert ok == ProbeResult(True, "output of ok")
    assert bad == ProbeResult(False, "output of bad")
    assert calls == [(["check", "ok"], 1.0), (["check", "bad"], 5.0)]
    grpc = asyncio.run(run_probe({"grpc": {"port": 1}}, pod_ip=HOST, exec_in=exec_in))
    assert not grpc.success


FAIL, OK = ProbeResult(False, "nope"), ProbeResult(True, "")


def test_readiness_thresholds() -> None:
    tracker = ProbeTracker(
        "Readiness", {"successThreshold": 2, "failureThreshold": 2, "periodSeconds": 5}, started_at=0
    )
    assert not tracker.healthy and tracker.next_due == 0
    first = tracker.record(OK, now=0)
    assert (first.healthy, first.changed, first.event) == (False, False, None)
    assert tracker.next_due == 5
    second = tracker.record(OK, now=5)
    assert (second.healthy, second.changed) == (True, True)
    third = tracker.record(FAIL, now=10)
    assert (third.healthy, third.changed, third.event) == (True, False, "Readiness probe failed: nope")
    fourth = tracker.record(FAIL, now=15)
    assert (fourth.healthy, fourth.changed, fourth.restart_needed) == (False, True, False)
    assert not tracker.finished


def test_liveness_restart_after_failure_threshold() -> None:
    tracker = ProbeTracker("Liveness", {"initialDelaySeconds": 3}, started_at=100)
    assert tracker.healthy and tracker.next_due == 103
    updates = [tracker.record(FAIL, now=103 + 10 * i) for i in range(3)]
    assert [u.restart_needed for u in updates] == [False, False, True]
    assert tracker.finished


def test_liveness_success_resets_the_run() -> None:
    tracker = ProbeTracker("Liveness", {"failureThreshold": 2}, started_at=0)
    results = [FAIL, OK, FAIL, OK]
    assert not any(tracker.record(r, now=10 * i).restart_needed for i, r in enumerate(results))


def test_startup_success_finishes() -> None:
    tracker = ProbeTracker("Startup", {"failureThreshold": 30, "periodSeconds": 1}, started_at=0)
    assert not tracker.record(FAIL, now=0).healthy
    done = tracker.record(OK, now=1)
    assert (done.healthy, done.changed, done.restart_needed) == (True, True, False)
    assert tracker.finished


def test_updates_probe_on_schedule() -> None:
    async def exec_in(argv: Sequence[str], timeout: float) -> tuple[int, bytes]:
        return 1, b"dead"

    async def collect() -> list[bool]:
        tracker = ProbeTracker(
            "Liveness", {"exec": {"command": ["x"]}, "periodSeconds": 0.01, "failureThreshold": 2}, started_at=0
        )
        seen = []
        async for update in tracker.updates(clock=SystemClock(), pod_ip=HOST, exec_in=exec_in):
            seen.append(update.restart_needed)
        return seen

    assert asyncio.run(collect()) == [False, True]
