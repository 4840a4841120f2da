"""The official kubernetes Python client against the embedded cluster: the code paths the suite uses."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException

from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration


def test_crud_on_core_kinds(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    assert created.metadata.resource_version
    read = core.read_namespaced_config_map("cfg", ns)
    read.data["b"] = "2"
    replaced = core.replace_namespaced_config_map("cfg", ns, read)
    assert replaced.data == {"a": "1", "b": "2"}
    core.patch_namespaced_config_map("cfg", ns, {"data": {"c": "3"}})
    assert core.read_namespaced_config_map("cfg", ns).data == {"a": "1", "b": "2", "c": "3"}
    read.data["stale"] = "x"
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("cfg", ns, read)
    assert conflict.value.status == 409
    core.delete_namespaced_config_map("cfg", ns)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("cfg", ns)
    assert missing.value.status == 404


def test_watch_from_resource_version_and_410_recovery(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    listed = core.list_namespaced_config_map(ns)
    rv = listed.metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "w1"}})
    events = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=2)
    ]
    assert ("ADDED", "w1") in events
    with pytest.raises(ApiException) as gone:
        for _event in watch.Watch().stream(
            core.list_namespaced_config_map, ns, resource_version="1", timeout_seconds=2
        ):
            pass
    assert gone.value.status == 410
    # Recovery as every reflector does it: re-list, then watch from the list's resourceVersion.
    relisted = core.list_namespaced_config_map(ns)
    # Every namespace also holds the cluster's CA (kube-root-ca.crt), as on a real cluster.
    assert [item.metadata.name for item in relisted.items if item.metadata.name != "kube-root-ca.crt"] == ["w1"]
    core.create_namespaced_config_map(ns, {"metadata": {"name": "w2"}})
    resumed = [
        e["object"].metadata.name
        for e in watch.Watch().stream(
            core.list_namespaced_config_map, ns, resource_version=relisted.metadata.resource_version, timeout_seconds=2
        )
    ]
    assert resumed == ["w2"]


def test_pod_logs_with_follow(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": "talker"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox",
                        "command": ["sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.5; done"],
                    }
                ],
            },
        },
    )
    eventually_blocking(
        lambda: core.read_namespaced_pod("talker", ns).status.phase != "Pending", "talker started", timeout=60
    )
    stream = core.read_namespaced_pod_log("talker", ns, follow=True, _preload_content=False)
    text = b"".join(stream.stream()).decode()
    assert text == "line 1\nline 2\nline 3\n"


def test_dynamic_client_on_a_custom_resource(api: client.ApiClient, ns: str, tmp_path: Path) -> None:
    dyn = dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    jobs = dyn.resources.get(api_version="kubeflow.org/v1", kind="PyTorchJob")
    body = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "pj"},
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {
                    "replicas": 1,
                    "template": {
                        "spec": {"containers": [{"name": "pytorch", "image": "busybox", "command": ["true"]}]}
                    },
                }
            }
        },
    }
    jobs.create(body=body, namespace=ns)
    got = jobs.get(name="pj", namespace=ns)
    assert got.spec.pytorchReplicaSpecs.Master.replicas == 1
    names = [item.metadata.name for item in jobs.get(namespace=ns).items]
    assert names == ["pj"]
    jobs.delete(name="pj", namespace=ns)


def test_server_side_apply_through_the_dynamic_client(api: client.ApiClient, ns: str, tmp_path: Path) -> None:
    dyn = dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": ns},
        "data": {"x": "1"},
    }
    cms.server_side_apply(body=body, field_manager="kfval-test")
    body["data"] = {"x": "2"}
    applied = cms.server_side_apply(body=body, field_manager="kfval-test")
    assert applied.to_dict()["data"] == {"x": "2"}
    managers = {entry["manager"] for entry in applied.to_dict()["metadata"]["managedFields"]}
    assert "kfval-test" in managers


def test_watch_sees_a_change_made_while_it_is_open(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    seen: list[str] = []

    def consume() -> None:
        for event in watch.Watch().stream(core.list_namespaced_config_map, ns, timeout_seconds=5):
            seen.append(f"{event['type']} {event['object'].metadata.name}")
            if event["object"].metadata.name == "late":
                return

    core.create_namespaced_config_map(ns, {"metadata": {"name": "early"}})
    thread = threading.Thread(target=consume)
    thread.start()
    eventually_blocking(lambda: "ADDED early" in seen, "the watch open (its initial ADDED)", interval=0.05)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "late"}})
    thread.join(timeout=10)
    assert "ADDED late" in seen
