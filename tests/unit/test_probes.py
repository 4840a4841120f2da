"""Probes against real sockets with the kubelet's messages, and the prober's thresholds over scripted results.

The prober's periods run on a fake clock: a scripted run lasts exactly as long as the test advances it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kfval.embedded.kubelet.podservices import ExecIn
from kfval.embedded.kubelet.probes import ProbeResult, run_probe
from kfval.embedded.kubelet.probing import ProbeHooks, Prober, ProbeSettings, ProbeTarget
from kfval.embedded.types import Body
from tests.support.clock import FakeClock

HOST = "127.0.0.1"


async def _no_exec(argv: Sequence[str], timeout: float) -> tuple[int, bytes]:
    raise AssertionError("exec_in must not be called")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


RELEASE = web.AppKey("release", asyncio.Event)


async def _slow(request: web.Request) -> web.Response:
    await request.app[RELEASE].wait()  # answers only once the test has seen the probe give up
    return web.Response(text="late")


def _app() -> web.Application:
    app = web.Application()
    app[RELEASE] = asyncio.Event()
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
        app = _app()
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            await check(port)
        finally:
            app[RELEASE].set()
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


@dataclass
class ScriptedProbes:
    """Answers each probe run with the next scripted result (the last one repeats) and records the call."""

    script: list[ProbeResult]
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def run_probe(
        self, probe: Mapping[str, Any], *, pod_ip: str, exec_in: ExecIn, ports: Mapping[str, int] | None = None
    ) -> ProbeResult:
        self.calls.append({"probe": dict(probe), "ports": dict(ports or {})})
        return self.script[min(len(self.calls), len(self.script)) - 1]


@dataclass
class Journal:
    """The prober's effects, in order: readiness flips, started, kills and Unhealthy events."""

    entries: list[str] = field(default_factory=list)

    def event(self, involved: Body, type_: str, reason: str, message: str, *, field_path: str = "") -> None:
        self.entries.append(f"{reason}: {message} @{field_path}")

    def hooks(self) -> ProbeHooks:
        async def kill(message: str) -> None:
            self.entries.append(f"kill: {message}")

        return ProbeHooks(
            set_ready=lambda ready: self.entries.append(f"ready={ready}"),
            set_started=lambda: self.entries.append("started"),
            kill=kill,
        )


def _run_for(container: Body, probes: ScriptedProbes, journal: Journal, seconds: float) -> None:
    """Probe `container` for `seconds` of fake time (the prober stops by itself after a kill)."""
    target = ProbeTarget(lambda: {"metadata": {"name": "p"}}, container, HOST, _no_exec, "spec.containers{c}")
    clock = FakeClock()
    prober = Prober(target, journal.hooks(), probes=probes, events=journal, clock=clock)

    async def main() -> None:
        task = asyncio.create_task(prober.run())
        await clock.advance(seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_settings_take_the_api_defaults_for_unset_and_zero_fields() -> None:
    assert ProbeSettings.of({}) == ProbeSettings(0.0, 10.0, 1, 3)
    assert ProbeSettings.of({"periodSeconds": 0, "failureThreshold": 1, "successThreshold": 2}) == ProbeSettings(
        0.0, 10.0, 2, 1
    )


def test_a_probe_on_a_named_port_is_given_the_containers_ports() -> None:
    container = {
        "name": "c",
        "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 9090}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 0.01},
    }
    probes, journal = ScriptedProbes([OK]), Journal()
    _run_for(container, probes, journal, 0.05)
    assert probes.calls[0]["ports"] == {"http": 8080}
    assert journal.entries[:2] == ["started", "ready=True"]


def test_readiness_flips_only_after_its_thresholds() -> None:
    probe = {"exec": {"command": ["x"]}, "periodSeconds": 0.01, "successThreshold": 2, "failureThreshold": 2}
    probes, journal = ScriptedProbes([OK, OK, FAIL, FAIL, OK]), Journal()
    _run_for({"name": "c", "readinessProbe": probe}, probes, journal, 0.3)
    unhealthy = "Unhealthy: Readiness probe failed: nope @spec.containers{c}"
    assert journal.entries[:6] == ["started", "ready=True", unhealthy, unhealthy, "ready=False", "ready=True"]


def test_liveness_kills_after_the_failure_threshold_and_stops() -> None:
    probe = {"exec": {"command": ["x"]}, "periodSeconds": 0.01, "failureThreshold": 2}
    probes, journal = ScriptedProbes([FAIL, OK, FAIL, FAIL]), Journal()
    _run_for({"name": "c", "livenessProbe": probe}, probes, journal, 0.3)
    assert journal.entries[-1] == "kill: Container c failed liveness probe, will be restarted"
    assert len(probes.calls) == 4


def test_startup_holds_readiness_back_until_it_succeeds() -> None:
    container = {
        "name": "c",
        "startupProbe": {"exec": {"command": ["s"]}, "periodSeconds": 0.01, "failureThreshold": 5},
        "readinessProbe": {"exec": {"command": ["r"]}, "periodSeconds": 0.01},
    }
    probes, journal = ScriptedProbes([FAIL, OK, OK]), Journal()
    _run_for(container, probes, journal, 0.1)
    assert journal.entries[:3] == ["Unhealthy: Startup probe failed: nope @spec.containers{c}", "started", "ready=True"]
    assert [c["probe"]["exec"]["command"] for c in probes.calls[:3]] == [["s"], ["s"], ["r"]]


def test_a_failing_startup_probe_kills_the_container() -> None:
    probe = {"exec": {"command": ["s"]}, "periodSeconds": 0.01, "failureThreshold": 2}
    probes, journal = ScriptedProbes([FAIL]), Journal()
    _run_for({"name": "c", "startupProbe": probe}, probes, journal, 0.3)
    assert journal.entries[-1] == "kill: Container c failed startup probe, will be restarted"
    assert "started" not in journal.entries
