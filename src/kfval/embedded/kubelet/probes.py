"""Container probes (exec, httpGet, tcpSocket) and the thresholds that turn results into state.

Readiness gates Services and the Ready condition the suite waits for; liveness restarts a hung
container; startup holds both back. Results and their messages follow the kubelet (Go's error text
for a refused connection, `HTTP probe failed with statuscode: 500`), because they appear verbatim
in Unhealthy events that scenarios and their evidence show.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from kfval.embedded.clock import Clock

ProbeKind = Literal["Startup", "Readiness", "Liveness"]
ExecIn = Callable[[Sequence[str], float], Awaitable[tuple[int, bytes]]]
"""Runs a command inside the container with a timeout: (exit code, combined output)."""

DEFAULT_TIMEOUT_SECONDS = 1.0
DEFAULT_PERIOD_SECONDS = 10.0
DEFAULT_FAILURE_THRESHOLD = 3
MAX_OUTPUT_BYTES = 10 * 1024
USER_AGENT = "kube-probe/1.32"
_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connect: connection refused",
    errno.EHOSTUNREACH: "connect: no route to host",
    errno.ENETUNREACH: "connect: network is unreachable",
    errno.ECONNRESET: "read: connection reset by peer",
    errno.ETIMEDOUT: "i/o timeout",
}


@dataclass(frozen=True)
class ProbeResult:
    """One probe's outcome; `message` is what follows `<Kind> probe failed: ` in the Unhealthy event."""

    success: bool
    message: str


def event_message(kind: ProbeKind, result: ProbeResult) -> str:
    """The Unhealthy event's message for a failed probe."""
    return f"{kind} probe failed: {result.message}"


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _dial_error(address: str, error: BaseException) -> str:
    """Go's `net.Dial` error text for an OS error."""
    code = getattr(error, "errno", None)
    words = _ERRNO_WORDS.get(code) if isinstance(code, int) else None
    return f"dial tcp {address}: {words or str(error)}"


def _port(value: Any, ports: Mapping[str, int]) -> int | None:
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text) if text.isdigit() else ports.get(text)


async def _exec_probe(action: Mapping[str, Any], exec_in: ExecIn, *, timeout: float) -> ProbeResult:
    argv = [str(arg) for arg in action.get("command") or []]
    try:
        code, output = await exec_in(argv, timeout)
    except TimeoutError:
        return ProbeResult(False, f"command {argv!r} timed out")
    except OSError as error:
        return ProbeResult(False, str(error))
    text = output[:MAX_OUTPUT_BYTES].decode("utf-8", errors="replace")
    return ProbeResult(code == 0, text)


async def _tcp_probe(host: str, port: int, *, timeout: float) -> ProbeResult:
    address = _join_host_port(host, port)
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return ProbeResult(False, f"dial tcp {address}: i/o timeout")
    except OSError as error:
        return ProbeResult(False, _dial_error(address, error))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(True, "")


def _http_headers(action: Mapping[str, Any]) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    for header in action.get("httpHeaders") or []:
        headers[str(header.get("name", ""))] = str(header.get("value", ""))
    return headers


async def _http_probe(url: str, address: str, *, headers: Mapping[str, str], timeout: float) -> ProbeResult:
    connector = aiohttp.TCPConnector(ssl=False, force_close=True)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session,
            session.get(url, headers=dict(headers), allow_redirects=True, max_redirects=10) as response,
        ):
            body = await response.content.read(MAX_OUTPUT_BYTES)
            status = response.status
    except TimeoutError:
        return ProbeResult(
            False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
        )
    except aiohttp.ClientConnectorError as error:
        return ProbeResult(False, f'Get "{url}": {_dial_error(address, error.os_error)}')
    except aiohttp.ServerDisconnectedError:
        return ProbeResult(False, f'Get "{url}": EOF')
    except aiohttp.ClientError as error:
        return ProbeResult(False, f'Get "{url}": {error}')
    if 200 <= status < 400:
        return ProbeResult(True, body.decode("utf-8", errors="replace"))
    return ProbeResult(False, f"HTTP probe failed with statuscode: {status}")


async def run_probe(
    probe: Mapping[str, Any],
    *,
    pod_ip: str,
    exec_in: ExecIn,
    ports: Mapping[str, int] | None = None,
) -> ProbeResult:
    """Run one probe once; `ports` resolves named container ports (httpGet/tcpSocket `port: http`)."""
    timeout = float(probe.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS)
    if "exec" in probe:
        return await _exec_probe(probe["exec"], exec_in, timeout=timeout)
    if "grpc" in probe:
        return ProbeResult(False, "gRPC probes are not supported by the embedded kubelet")
    action = probe.get("httpGet") or probe.get("tcpSocket")
    if action is None:
        return ProbeResult(False, "probe has no handler (exec, httpGet, tcpSocket or grpc)")
    port = _port(action.get("port"), ports or {})
    if port is None:
        return ProbeResult(False, f"couldn't find port: {action.get('port')}")
    host = action.get("host") or pod_ip
    if "tcpSocket" in probe:
        return await _tcp_probe(host, port, timeout=timeout)
    scheme = str(action.get("scheme") or "HTTP").lower()
    path = str(action.get("path") or "/")
    address = _join_host_port(host, port)
    url = f"{scheme}://{address}{path if path.startswith('/') else '/' + path}"
    return await _http_probe(url, address, headers=_http_headers(action), timeout=timeout)


# -- thresholds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeSettings:
    """The timing fields of a probe, with the API's defaults."""

    initial_delay_seconds: float = 0.0
    period_seconds: float = DEFAULT_PERIOD_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    success_threshold: int = 1
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD

    @classmethod
    def of(cls, probe: Mapping[str, Any]) -> ProbeSettings:
        return cls(
            initial_delay_seconds=float(probe.get("initialDelaySeconds") or 0),
            period_seconds=float(probe.get("periodSeconds") or DEFAULT_PERIOD_SECONDS),
            timeout_seconds=float(probe.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS),
            success_threshold=int(probe.get("successThreshold") or 1),
            failure_threshold=int(probe.get("failureThreshold") or DEFAULT_FAILURE_THRESHOLD),
        )


@dataclass(frozen=True)
class ProbeUpdate:
    """What one probe run means for the container.

    `healthy` is the state after it (ready / alive / started), `changed` says it flipped now,
    `event` is the Unhealthy event message when the probe failed (every failure gets one).
    """

    kind: ProbeKind
    result: ProbeResult
    healthy: bool
    changed: bool
    event: str | None

    @property
    def restart_needed(self) -> bool:
        """A liveness or startup probe failed failureThreshold times: kill and restart the container."""
        return self.kind != "Readiness" and self.changed and not self.healthy


class ProbeTracker:
    """One probe of one container instance: schedules runs and applies the thresholds as the kubelet does.

    A readiness probe starts unready, liveness starts alive, startup starts not-started. After a
    liveness or startup failure past the threshold, or a startup success, the tracker is finished;
    the lifecycle makes a new tracker for the restarted container.
    """

    def __init__(self, kind: ProbeKind, probe: Mapping[str, Any], *, started_at: float) -> None:
        self.kind: ProbeKind = kind
        self.probe = probe
        self.settings = ProbeSettings.of(probe)
        self.healthy = kind == "Liveness"
        self.finished = False
        self._next_due = started_at + self.settings.initial_delay_seconds
        self._last: bool | None = None
        self._run = 0

    @property
    def next_due(self) -> float:
        """The monotonic time at which the next probe should run."""
        return self._next_due

    def record(self, result: ProbeResult, *, now: float) -> ProbeUpdate:
        """Apply one result: the state flips only after successThreshold / failureThreshold in a row."""
        periods = max(1, math.floor((now - self._next_due) / self.settings.period_seconds) + 1)
        self._next_due += periods * self.settings.period_seconds
        self._run = self._run + 1 if self._last == result.success else 1
        self._last = result.success
        threshold = self.settings.success_threshold if result.success else self.settings.failure_threshold
        changed = False
        if self._run >= threshold and self.healthy != result.success:
            self.healthy, changed = result.success, True
        if changed and (self.kind == "Startup" or (self.kind == "Liveness" and not result.success)):
            self.finished = True
        event = None if result.success else event_message(self.kind, result)
        return ProbeUpdate(self.kind, result, self.healthy, changed, event)

    async def updates(
        self, *, clock: Clock, pod_ip: str, exec_in: ExecIn, ports: Mapping[str, int] | None = None
    ) -> AsyncIterator[ProbeUpdate]:
        """Probe on schedule and yield every update until the tracker is finished (or the caller stops)."""
        while not self.finished:
            delay = self._next_due - clock.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            result = await run_probe(self.probe, pod_ip=pod_ip, exec_in=exec_in, ports=ports)
            yield self.record(result, now=clock.monotonic())
