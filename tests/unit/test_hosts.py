"""Per-pod hosts files stand in for cluster DNS and follow the cluster as it changes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet.hosts import HostsFiles
from kfval.embedded.store import fanout
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body
from tests.support.polling import eventually, settle

NS = "team"


@pytest.fixture
def store() -> Store:
    store = Store(Catalog(), SystemClock())
    for name in (NS, "other"):
        store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": name}})
    return store


def _pod(name: str, ip: str | None, *, ready: bool = False, namespace: str = NS, **spec: Any) -> Body:
    status: Body = {"phase": "Running" if ip else "Pending"}
    if ip:
        status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
    status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    labels = {"job": spec.pop("job", "mnist"), "index": name[-1]}
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "c"}], **spec},
        "status": status,
    }


def _add(store: Store, resource: str, body: Body) -> Body:
    namespace = body["metadata"].get("namespace", NS)
    return store.create(store.catalog.lookup("", "v1", resource), body, namespace=namespace)


def _service(name: str, selector: Body, *, cluster_ip: str = "None", namespace: str = NS) -> Body:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusterIP": cluster_ip, "selector": selector, "ports": [{"port": 23456}]},
    }


def test_kubelet_part_of_the_file(store: Store, tmp_path: Path) -> None:
    pod = _add(store, "pods", _pod("worker-0", None, hostname="worker-0", subdomain="mnist"))
    path = HostsFiles(store, tmp_path).path_for(pod, pod_ip="10.244.0.5")
    lines = path.read_text().splitlines()
    assert lines[0] == "# Kubernetes-managed hosts file."
    assert lines[1] == "127.0.0.1\tlocalhost"
    assert lines[2] == "::1\tlocalhost ip6-localhost ip6-loopback"
    assert "10.244.0.5\tworker-0.mnist.team.svc.cluster.local\tworker-0" in lines


def test_plain_pod_line_and_cluster_domain(store: Store, tmp_path: Path) -> None:
    pod = _add(store, "pods", _pod("solo-0", "10.244.0.9"))
    text = HostsFiles(store, tmp_path, cluster_domain="example.org").path_for(pod).read_text()
    assert "10.244.0.9\tsolo-0\n" in text


def test_headless_services_and_pod_names(store: Store, tmp_path: Path) -> None:
    _add(store, "pods", _pod("mnist-master-0", "10.244.0.2", ready=False, hostname="m0", subdomain="mnist-master-0"))
    _add(store, "pods", _pod("gone-1", None))
    _add(store, "services", _service("mnist-master-0", {"index": "0"}))
    _add(store, "services", _service("elsewhere", {"index": "7"}, namespace="other"))
    _add(store, "pods", _pod("far-7", "10.244.0.7", namespace="other", ready=True))
    viewer = _add(store, "pods", _pod("mnist-worker-1", "10.244.0.3"))
    text = HostsFiles(store, tmp_path).path_for(viewer).read_text()
    short = "mnist-master-0.team.svc.cluster.local mnist-master-0.team.svc mnist-master-0.team mnist-master-0"
    assert f"10.244.0.2\t{short}\n" in text
    assert "10.244.0.2\tm0.mnist-master-0.team.svc.cluster.local" in text
    assert "10.244.0.7\telsewhere.other.svc.cluster.local elsewhere.other.svc elsewhere.other\n" in text


def test_cluster_ip_service_maps_to_one_ready_pod(store: Store, tmp_path: Path) -> None:
    _add(store, "pods", _pod("web-1", "10.244.0.11", job="web"))
    _add(store, "pods", _pod("web-2", "10.244.0.12", job="web", ready=True))
    _add(store, "services", _service("web", {"job": "web"}, cluster_ip="10.96.0.20"))
    viewer = _add(store, "pods", _pod("client-0", "10.244.0.30", job="client"))
    lines = HostsFiles(store, tmp_path).path_for(viewer).read_text().splitlines()
    web = [line for line in lines if line.endswith(" web")]
    assert web == ["10.244.0.12\tweb.team.svc.cluster.local web.team.svc web.team web"]


def test_selectorless_service_uses_endpoints(store: Store, tmp_path: Path) -> None:
    _add(store, "services", {"metadata": {"name": "ext", "namespace": NS}, "spec": {"ports": [{"port": 80}]}})
    subsets = [{"addresses": [{"ip": "192.0.2.1"}], "notReadyAddresses": [{"ip": "192.0.2.2"}]}]
    _add(store, "endpoints", {"metadata": {"name": "ext", "namespace": NS}, "subsets": subsets})
    viewer = _add(store, "pods", _pod("client-0", "10.244.0.30"))
    text = HostsFiles(store, tmp_path).path_for(viewer).read_text()
    assert "192.0.2.1\text.team.svc.cluster.local" in text
    assert "192.0.2.2" not in text


def test_run_rewrites_in_place(store: Store, tmp_path: Path) -> None:
    hosts = HostsFiles(store, tmp_path)
    viewer = _add(store, "pods", _pod("mnist-worker-1", "10.244.0.3"))
    path = hosts.path_for(viewer)
    inode = path.stat().st_ino

    async def scenario() -> str:
        task = asyncio.create_task(hosts.run(), name="hosts-under-test")
        try:
            await settle()  # the hosts files follow the store
            _add(store, "services", _service("mnist-master-0", {"index": "0"}))
            await settle()
            assert "mnist-master-0" not in path.read_text().split("# Entries added by kfval")[1]
            _add(store, "pods", _pod("mnist-master-0", "10.244.0.2"))
            await eventually(lambda: "10.244.0.2" in path.read_text(), "the master's address in the hosts file")
            return path.read_text()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    text = asyncio.run(scenario())
    assert "10.244.0.2\tmnist-master-0.team.svc.cluster.local" in text
    assert path.stat().st_ino == inode


def test_forget_removes_the_file(store: Store, tmp_path: Path) -> None:
    hosts = HostsFiles(store, tmp_path)
    pod = _add(store, "pods", _pod("p-0", "10.244.0.4"))
    path = hosts.path_for(pod)
    hosts.forget(pod["metadata"]["uid"])
    assert not path.exists()
    hosts.refresh()
    assert not path.exists()


def test_refresh_rewrites_only_the_files_whose_content_changed(store: Store, tmp_path: Path) -> None:
    hosts = HostsFiles(store, tmp_path)
    pods = store.catalog.lookup("", "v1", "pods")
    mover = _add(store, "pods", _pod("mover-0", "10.244.0.7"))
    still = _add(store, "pods", _pod("still-1", "10.244.0.8", namespace="other"))
    moving, staying = hosts.path_for(mover), hosts.path_for(still)
    for path in (moving, staying):  # an old stamp, so that any rewrite shows
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    stamps = moving.stat().st_mtime_ns, staying.stat().st_mtime_ns
    current = store.get(pods, NS, "mover-0")
    current["metadata"]["labels"]["unrelated"] = "yes"
    store.replace(pods, current)
    hosts.refresh()
    assert (moving.stat().st_mtime_ns, staying.stat().st_mtime_ns) == stamps
    current = store.get(pods, NS, "mover-0")
    current["status"]["podIP"], current["status"]["podIPs"] = "10.244.0.9", [{"ip": "10.244.0.9"}]
    store.replace(pods, current, subresource="status")
    hosts.refresh()
    assert "10.244.0.9\tmover-0" in moving.read_text()
    assert moving.stat().st_mtime_ns != stamps[0]
    assert staying.stat().st_mtime_ns == stamps[1]


def test_run_keeps_following_after_its_watch_falls_behind(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "MAX_PENDING_EVENTS", 3)
    hosts = HostsFiles(store, tmp_path)
    path = hosts.path_for(_add(store, "pods", _pod("viewer-1", "10.244.0.3")))

    async def scenario() -> str:
        task = asyncio.create_task(hosts.run(), name="hosts-under-test")
        try:
            await settle()  # the hosts files follow the store
            for index in range(6):  # a burst without a pause: the pod watch is closed with 410
                _add(store, "pods", _pod(f"burst-{index}", f"10.244.1.{index}", job="burst"))
            await settle()
            _add(store, "services", _service("late", {"job": "burst"}))
            await eventually(lambda: "late.team" in path.read_text(), "the late service in the hosts file")
            assert not task.done()
            return path.read_text()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    assert "10.244.1.0\tlate.team.svc.cluster.local" in asyncio.run(scenario())


def test_resolv_conf_points_pods_at_a_resolver_that_fails_at_once(tmp_path: Path) -> None:
    """A pod's lookups that /etc/hosts cannot answer must fail fast, not wait for an unreachable host resolver."""
    catalog = Catalog()
    store = Store(catalog, SystemClock())
    files = HostsFiles(store, tmp_path)
    pod = {"metadata": {"name": "p", "namespace": "team", "uid": "u-1"}}
    text = files.resolv_conf_for(pod).read_text()
    assert "search team.svc.cluster.local svc.cluster.local cluster.local" in text
    assert "nameserver 127.0.0.1" in text
    assert "timeout:1" in text and "attempts:1" in text
    files.forget("u-1")
    assert not (tmp_path / "u-1" / "resolv.conf").exists()
