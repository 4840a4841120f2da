"""The downward API: what a pod may learn about itself, as the kubelet words each value.

Environment variables (fieldRef, resourceFieldRef) and downwardAPI volume files read the same
values, so the rules live once: label maps as sorted `key="value"` lines, CPU rounded up to the
divisor, unset limits replaced by what the node can allocate.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from kfval.embedded import quantities
from kfval.embedded.types import Body


def _host_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError):  # pragma: no cover - every Linux answers
        return 8 * 2**30


DEFAULT_NODE_ALLOCATABLE: Mapping[str, str] = {
    "cpu": str(os.cpu_count() or 1),
    "memory": str(_host_memory_bytes()),
    "ephemeral-storage": str(shutil.disk_usage("/").total),
}
"""What the node offers when a container sets no limit: this machine's CPUs, memory and disk."""

_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


class DownwardError(Exception):
    """A fieldPath or resource the downward API does not offer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def go_quote(text: str) -> str:
    """Go's `%q` of a string: double quotes, backslash escapes for quotes and control characters."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def format_map(values: Mapping[str, str]) -> str:
    """Labels or annotations as the kubelet writes them: `key="value"` lines, sorted, no final newline."""
    return "\n".join(f"{key}={go_quote(str(values[key]))}" for key in sorted(values))


def pod_ips_of(pod: Body) -> list[str]:
    """The pod's addresses from its status (podIPs, else podIP)."""
    status = pod.get("status") or {}
    ips = [entry.get("ip", "") for entry in status.get("podIPs") or [] if entry.get("ip")]
    if not ips and status.get("podIP"):
        ips = [status["podIP"]]
    return ips


def field_value(
    pod: Body,
    field_path: str,
    *,
    pod_ips: Sequence[str] | None = None,
    host_ip: str | None = None,
) -> str:
    """The value of a fieldRef; `pod_ips`/`host_ip` override a status the store has not caught up with."""
    meta: dict[str, Any] = pod.get("metadata") or {}
    spec: dict[str, Any] = pod.get("spec") or {}
    status: dict[str, Any] = pod.get("status") or {}
    ips = list(pod_ips) if pod_ips else pod_ips_of(pod)
    host = host_ip or status.get("hostIP", "")
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": host,
        "status.hostIPs": ",".join([host] if host else []),
        "status.podIP": ips[0] if ips else "",
        "status.podIPs": ",".join(ips),
    }
    if field_path in simple:
        return str(simple[field_path])
    if field_path in ("metadata.labels", "metadata.annotations"):
        return format_map(meta.get(field_path.split(".")[1]) or {})
    subscript = _SUBSCRIPT.match(field_path)
    if subscript:
        return str((meta.get(subscript.group(1)) or {}).get(subscript.group(2), ""))
    raise DownwardError(f"unsupported fieldPath: {field_path}")


def _container(pod: Body, name: str) -> Body:
    spec = pod.get("spec") or {}
    for container in (*(spec.get("initContainers") or []), *(spec.get("containers") or [])):
        if container.get("name") == name:
            return dict(container)
    raise DownwardError(f"container {name} not found")


def _amount(container: Body, resource: str, *, node_allocatable: Mapping[str, str]) -> Fraction:
    """A request or limit, with the defaults the kubelet and API server apply when it is unset."""
    kind, _, name = resource.partition(".")
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    if kind == "limits":
        text = limits.get(name, node_allocatable.get(name, "0"))
    else:
        text = requests.get(name, limits.get(name, "0"))
    return quantities.parse(text)


def resource_value(
    pod: Body,
    container_name: str,
    *,
    resource: str,
    divisor: str | int | None = None,
    node_allocatable: Mapping[str, str] = DEFAULT_NODE_ALLOCATABLE,
) -> str:
    """A resourceFieldRef value: CPU in divisor units rounded up (cores by default), memory likewise in bytes."""
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise DownwardError(f"unsupported container resource : {resource}")
    amount = _amount(_container(pod, container_name), resource, node_allocatable=node_allocatable)
    by = quantities.parse(divisor) if divisor not in (None, "", 0, "0") else Fraction(1)
    assert by is not None
    if name == "cpu":
        return str(math.ceil(math.ceil(amount * 1000) / math.ceil(by * 1000)))
    return str(math.ceil(math.ceil(amount) / math.ceil(by)))
