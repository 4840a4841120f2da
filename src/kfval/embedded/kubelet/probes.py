"""Running one container probe (exec, httpGet, tcpSocket) and wording its result as the kubelet does.

Readiness gates Services and the Ready condition the suite waits for; liveness restarts a hung
container; startup holds both back. Results and their messages follow the kubelet (Go's error text
for a refused connection, `HTTP probe failed with statuscode: 500`), because they appear verbatim
in Unhealthy events that scenarios and their evidence show. What a run of results means (the
thresholds) is probing.py's business. A probe's `timeoutSeconds` bounds socket I/O (the TCP
connect, the HTTP exchange), so it is the event loop's own I/O timeout, not the cluster's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from kfval.embedded.kubelet.podservices import ExecIn

DEFAULT_TIMEOUT_SECONDS = 1.0
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
