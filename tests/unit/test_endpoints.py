"""The endpoint controller against a real store: addresses, readiness, named ports, headless hostnames."""

from __future__ import annotations

from kfval.embedded.controllers.endpoints import EndpointsController
from kfval.embedded.types import Body
from tests.support.cluster import Harness, running
from tests.support.loop import on_loop
from tests.support.polling import eventually


def pod(name: str, ip: str | None, *, ready: bool, labels: dict[str, str] | None = None, **spec: str) -> Body:
    status: Body = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    container = {"name": "main", "image": "demo:1", "ports": [{"name": "web", "containerPort": 8080}]}
    return {
        "metadata": {"name": name, "labels": labels if labels is not None else {"app": "web"}},
        "spec": {"nodeName": "node-1", "containers": [container], **spec},
        "status": status,
    }


def service(name: str, *, selector: dict[str, str] | None, cluster_ip: str = "10.96.0.10") -> Body:
    spec: Body = {"clusterIP": cluster_ip, "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"name": name, "labels": {"tier": "front"}}, "spec": spec}


def subsets_of(h: Harness, name: str) -> list[Body] | None:
    endpoints = h.store.get(h.rt("endpoints"), "net", name)
    return endpoints.get("subsets")


@on_loop
async def test_ready_and_not_ready_pods_with_a_named_target_port() -> None:
    async with running(EndpointsController) as h:
        store = h.store
        pods, services = h.rt("pods"), h.rt("services")
        h.make_namespace("net")
        store.create(pods, pod("a", "10.0.0.2", ready=True), namespace="net")
        store.create(pods, pod("b", "10.0.0.3", ready=False), namespace="net")
        store.create(pods, pod("no-ip", None, ready=False), namespace="net")
        store.create(pods, pod("other", "10.0.0.9", ready=True, labels={"app": "db"}), namespace="net")
        store.create(services, service("web", selector={"app": "web"}), namespace="net")

        subsets = await eventually(lambda: subsets_of(h, "web"), "endpoints of web")
        assert len(subsets) == 1
        (subset,) = subsets
        a_uid = store.get(pods, "net", "a")["metadata"]["uid"]
        target = {"kind": "Pod", "namespace": "net", "name": "a", "uid": a_uid}
        assert subset["addresses"] == [{"ip": "10.0.0.2", "nodeName": "node-1", "targetRef": target}]
        assert [x["ip"] for x in subset["notReadyAddresses"]] == ["10.0.0.3"]
        assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        endpoints = store.get(h.rt("endpoints"), "net", "web")
        assert endpoints["metadata"]["labels"] == {"tier": "front"}

        b = store.get(pods, "net", "b")
        b["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
        store.replace(pods, b, subresource="status")

        def both_ready() -> bool:
            subset = (subsets_of(h, "web") or [{}])[0]
            return [x["ip"] for x in subset.get("addresses", [])] == ["10.0.0.2", "10.0.0.3"]

        await eventually(both_ready, "pod b ready")
        assert "notReadyAddresses" not in subsets_of(h, "web")[0]

        store.delete(services, "net", "web")
        await eventually(lambda: h.gone(h.rt("endpoints"), "net", "web"), "endpoints removed")


@on_loop
async def test_headless_service_publishes_pod_hostnames() -> None:
    async with running(EndpointsController) as h:
        store = h.store
        pods, services = h.rt("pods"), h.rt("services")
        h.make_namespace("net")
        store.create(pods, pod("w-0", "10.0.0.4", ready=True, hostname="w-0", subdomain="workers"), namespace="net")
        store.create(pods, pod("w-1", "10.0.0.5", ready=True, hostname="w-1", subdomain="elsewhere"), namespace="net")
        store.create(services, service("workers", selector={"app": "web"}, cluster_ip="None"), namespace="net")

        subsets = await eventually(lambda: subsets_of(h, "workers"), "endpoints of workers")
        addresses = {a["ip"]: a for a in subsets[0]["addresses"]}
        assert addresses["10.0.0.4"]["hostname"] == "w-0"
        assert "hostname" not in addresses["10.0.0.5"]
        labels = store.get(h.rt("endpoints"), "net", "workers")["metadata"]["labels"]
        assert labels["service.kubernetes.io/headless"] == ""


@on_loop
async def test_service_without_selector_keeps_hand_made_endpoints() -> None:
    async with running(EndpointsController) as h:
        store = h.store
        endpoints, services = h.rt("endpoints"), h.rt("services")
        h.make_namespace("net")
        store.create(h.rt("pods"), pod("a", "10.0.0.2", ready=True), namespace="net")
        manual = {"metadata": {"name": "external"}, "subsets": [{"addresses": [{"ip": "192.0.2.1"}]}]}
        store.create(endpoints, manual, namespace="net")
        store.create(services, service("external", selector=None), namespace="net")
        store.create(services, service("web", selector={"app": "web"}), namespace="net")
        await eventually(lambda: subsets_of(h, "web"), "endpoints of the selector service")
        assert subsets_of(h, "external") == [{"addresses": [{"ip": "192.0.2.1"}]}]
