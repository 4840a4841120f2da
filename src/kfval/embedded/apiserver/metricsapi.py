"""`metrics.k8s.io/v1beta1`, as metrics-server serves it, so `kubectl top` and the suite's usage
sampling work on the embedded cluster exactly as on a real one.

The objects are computed on each request from the kubelet's measurements and never stored:
PodMetrics carry the pod's labels, a `timestamp`, the `window` the CPU rate was taken over and
each running container's `usage` (`cpu` in nanocores, `memory` as working set in Ki); a pod with
no running container has no metrics (404 on get, absent from lists), as with metrics-server.
Label and field selectors select the pods (or node) the metrics belong to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from kfval.embedded.apiserver.paths import Target
from kfval.embedded.apiserver.resources import Context, json_response, predicate_for
from kfval.embedded.clock import rfc3339
from kfval.embedded.errors import MethodNotAllowedError, NotFoundError
from kfval.embedded.types import Body, NodeUsage, PodUsage, UsageSource


def cpu_quantity(nanocores: int) -> str:
    return f"{nanocores}n"


def memory_quantity(memory_bytes: int) -> str:
    return f"{memory_bytes // 1024}Ki" if memory_bytes % 1024 == 0 else str(memory_bytes)


def window(seconds: float) -> str:
    """A Go duration, as metav1.Duration renders it (`10.213s`)."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def _usage(cpu_nanocores: int, memory_bytes: int) -> Body:
    return {"cpu": cpu_quantity(cpu_nanocores), "memory": memory_quantity(memory_bytes)}


def _measurement(kind: str, measured: Body, moment: datetime, window_seconds: float) -> Body:
    """What PodMetrics and NodeMetrics share: the measured object's name (and namespace, labels), when, how long."""
    stamp = rfc3339(moment)
    metadata: dict[str, Any] = {"name": measured["metadata"]["name"]}
    if measured["metadata"].get("namespace"):
        metadata["namespace"] = measured["metadata"]["namespace"]
    metadata["creationTimestamp"] = stamp
    if measured["metadata"].get("labels"):
        metadata["labels"] = dict(measured["metadata"]["labels"])
    return {
        "kind": kind,
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": metadata,
        "timestamp": stamp,
        "window": window(window_seconds),
    }


def pod_metrics(usage: PodUsage, pod: Body) -> Body:
    body = _measurement("PodMetrics", pod, usage.timestamp, usage.window_seconds)
    body["containers"] = [{"name": c.name, "usage": _usage(c.cpu_nanocores, c.memory_bytes)} for c in usage.containers]
    return body


def node_metrics(usage: NodeUsage, node: Body) -> Body:
    body = _measurement("NodeMetrics", node, usage.timestamp, usage.window_seconds)
    body["usage"] = _usage(usage.cpu_nanocores, usage.memory_bytes)
    return body


def _measured(request: web.Request, target: Target, ctx: Context, usage: UsageSource) -> list[Body]:
    """The metrics of the objects the request selects, in the order the store lists them."""
    if target.rt.kind == "NodeMetrics":
        rt = ctx.store.catalog.lookup("", "v1", "nodes")
        node_usage = usage.node()
        nodes, _ = ctx.store.list(rt, None, predicate_for(rt, request.query))
        return [node_metrics(node_usage, node) for node in nodes if node["metadata"]["name"] == node_usage.name]
    rt = ctx.store.catalog.lookup("", "v1", "pods")
    by_uid = {pod_usage.uid: pod_usage for pod_usage in usage.pods()}
    pods, _ = ctx.store.list(rt, target.namespace, predicate_for(rt, request.query))
    return [pod_metrics(by_uid[uid], pod) for pod in pods if (uid := pod["metadata"]["uid"]) in by_uid]


async def serve(request: web.Request, target: Target, ctx: Context, usage: UsageSource) -> web.Response:
    if request.method != "GET" or target.subresource:
        raise MethodNotAllowedError(
            f"the server does not allow this method on the requested resource ({request.method})"
        )
    items = _measured(request, target, ctx, usage)
    if target.name is None:
        rt = target.rt
        return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": {}, "items": items})
    for item in items:
        if item["metadata"]["name"] == target.name:
            return json_response(item)
    raise NotFoundError.object(target.rt, target.name)
