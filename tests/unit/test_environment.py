"""Container environments resolve as the kubelet resolves them."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet import environment
from kfval.embedded.kubelet.environment import ContainerConfigError, expand, expand_one, resolve_env
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

NS = "team"
ALLOCATABLE = {"cpu": "8", "memory": "16Gi", "ephemeral-storage": "100Gi"}


@pytest.fixture
def store() -> Store:
    store = Store(Catalog(), SystemClock())
    store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": NS}})
    return store


def _create(store: Store, resource: str, body: Body) -> Body:
    return store.create(store.catalog.lookup("", "v1", resource), body, namespace=NS)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _pod(container: Body, **spec: Any) -> Body:
    return {
        "metadata": {"name": "p", "namespace": NS, "uid": "u-1", "labels": {"app": "x"}, "annotations": {"a": "b"}},
        "spec": {"containers": [container], "nodeName": "kfval-node", "serviceAccountName": "default", **spec},
        "status": {"podIP": "10.0.0.7", "podIPs": [{"ip": "10.0.0.7"}], "hostIP": "10.0.0.1"},
    }


def _resolve(store: Store, container: Body, **spec: Any) -> dict[str, str]:
    return resolve_env(_pod(container, **spec), container, store=store, node_allocatable=ALLOCATABLE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)", "alpha"),
        ("x-$(A)-y", "x-alpha-y"),
        ("$$(A)", "$(A)"),
        ("$$$(A)", "$alpha"),
        ("$(MISSING)", "$(MISSING)"),
        ("$(A", "$(A"),
        ("$A", "$A"),
        ("trailing$", "trailing$"),
        ("$()", "$()"),
        ("$(A)$(B)", "alphabeta"),
    ],
)
def test_expansion_rules(text: str, expected: str) -> None:
    assert expand_one(text, lambda name: {"A": "alpha", "B": "beta"}.get(name, f"$({name})")) == expected


def test_expand_command_against_final_env() -> None:
    assert expand(["echo", "$(GREETING)", "$$(GREETING)"], {"GREETING": "hi"}) == ["echo", "hi", "$(GREETING)"]


def test_env_refers_only_to_variables_defined_before(store: Store) -> None:
    container = {
        "name": "c",
        "env": [
            {"name": "LATER_REF", "value": "$(B)"},
            {"name": "B", "value": "bee"},
            {"name": "C", "value": "$(B)-see"},
        ],
    }
    env = _resolve(store, container)
    assert env["LATER_REF"] == "$(B)"
    assert env["C"] == "bee-see"


def test_env_from_with_prefix_then_env_overrides(store: Store) -> None:
    _create(store, "configmaps", {"metadata": {"name": "cfg"}, "data": {"MODE": "train", "LR": "0.1"}})
    _create(store, "secrets", {"metadata": {"name": "creds"}, "data": {"TOKEN": _b64("s3cret")}})
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "creds"}, "prefix": "S_"}],
        "env": [{"name": "MODE", "value": "$(MODE)-override"}],
    }
    env = _resolve(store, container)
    assert env["LR"] == "0.1"
    assert env["S_TOKEN"] == "s3cret"
    assert env["MODE"] == "train-override"


def test_key_refs_and_optional(store: Store) -> None:
    _create(store, "secrets", {"metadata": {"name": "creds"}, "data": {"password": _b64("pw")}})
    container = {
        "name": "c",
        "env": [
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
            {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k", "optional": True}}},
            {"name": "OPTKEY", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope", "optional": True}}},
        ],
    }
    env = _resolve(store, container)
    assert env["PW"] == "pw"
    assert "OPT" not in env
    assert "OPTKEY" not in env


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"secretKeyRef": {"name": "x", "key": "k"}}, 'secret "x" not found'),
        ({"configMapKeyRef": {"name": "x", "key": "k"}}, 'configmap "x" not found'),
        ({"secretKeyRef": {"name": "creds", "key": "k"}}, f"couldn't find key k in Secret {NS}/creds"),
    ],
)
def test_missing_sources_use_kubelet_wording(store: Store, source: Body, message: str) -> None:
    _create(store, "secrets", {"metadata": {"name": "creds"}, "data": {"password": _b64("pw")}})
    with pytest.raises(ContainerConfigError) as caught:
        _resolve(store, {"name": "c", "env": [{"name": "V", "valueFrom": source}]})
    assert caught.value.message == message


def test_missing_env_from_secret_fails(store: Store) -> None:
    with pytest.raises(ContainerConfigError, match='secret "gone" not found'):
        _resolve(store, {"name": "c", "envFrom": [{"secretRef": {"name": "gone"}}]})


def test_field_refs(store: Store) -> None:
    paths = {
        "NAME": "metadata.name",
        "NS": "metadata.namespace",
        "UID": "metadata.uid",
        "APP": "metadata.labels['app']",
        "ANN": "metadata.annotations['a']",
        "NODE": "spec.nodeName",
        "SA": "spec.serviceAccountName",
        "HOST": "status.hostIP",
        "IP": "status.podIP",
        "IPS": "status.podIPs",
    }
    container = {
        "name": "c",
        "env": [{"name": k, "valueFrom": {"fieldRef": {"fieldPath": v}}} for k, v in paths.items()],
    }
    env = _resolve(store, container)
    assert [env[k] for k in paths] == [
        "p",
        NS,
        "u-1",
        "x",
        "b",
        "kfval-node",
        "default",
        "10.0.0.1",
        "10.0.0.7",
        "10.0.0.7",
    ]


def test_pod_ips_keyword_overrides_status(store: Store) -> None:
    container = {"name": "c", "env": [{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}
    env = resolve_env(_pod(container), container, store=store, pod_ips=["10.9.9.9"], host_ip="10.9.0.1")
    assert env["IP"] == "10.9.9.9"


def test_resource_field_refs(store: Store) -> None:
    refs = {
        "CPU_LIMIT": {"resource": "limits.cpu"},
        "CPU_LIMIT_M": {"resource": "limits.cpu", "divisor": "1m"},
        "CPU_REQ": {"resource": "requests.cpu"},
        "MEM_LIMIT_MI": {"resource": "limits.memory", "divisor": "1Mi"},
        "MEM_REQ": {"resource": "requests.memory"},
        "STORAGE": {"resource": "limits.ephemeral-storage", "divisor": "1Gi"},
    }
    container = {
        "name": "c",
        "resources": {"limits": {"cpu": "250m", "memory": "129e6"}, "requests": {"memory": "64Mi"}},
        "env": [{"name": k, "valueFrom": {"resourceFieldRef": v}} for k, v in refs.items()],
    }
    env = _resolve(store, container)
    assert env["CPU_LIMIT"] == "1"
    assert env["CPU_LIMIT_M"] == "250"
    assert env["CPU_REQ"] == "1"
    assert env["MEM_LIMIT_MI"] == "124"
    assert env["MEM_REQ"] == str(64 * 2**20)
    assert env["STORAGE"] == "100"


def test_unset_limits_fall_back_to_node_allocatable(store: Store) -> None:
    container = {"name": "c", "env": [{"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}
    assert _resolve(store, container)["CPU"] == "8"


def _service(name: str, cluster_ip: str, ports: list[Body]) -> Body:
    return {"metadata": {"name": name}, "spec": {"clusterIP": cluster_ip, "ports": ports}}


def test_service_links(store: Store) -> None:
    ports = [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "grpc-api", "port": 9000}]
    _create(store, "services", _service("web-ui", "10.96.0.10", ports))
    _create(store, "services", _service("headless", "None", [{"port": 1}]))
    env = resolve_env(_pod({"name": "c"}), {"name": "c"}, store=store, api_host="127.0.0.1", api_port=6443)
    assert env["WEB_UI_SERVICE_HOST"] == "10.96.0.10"
    assert env["WEB_UI_SERVICE_PORT"] == "80"
    assert env["WEB_UI_SERVICE_PORT_HTTP"] == "80"
    assert env["WEB_UI_SERVICE_PORT_GRPC_API"] == "9000"
    assert env["WEB_UI_PORT"] == "tcp://10.96.0.10:80"
    assert env["WEB_UI_PORT_9000_TCP"] == "tcp://10.96.0.10:9000"
    assert env["WEB_UI_PORT_9000_TCP_PROTO"] == "tcp"
    assert env["WEB_UI_PORT_9000_TCP_PORT"] == "9000"
    assert env["WEB_UI_PORT_9000_TCP_ADDR"] == "10.96.0.10"
    assert not any(name.startswith("HEADLESS_") for name in env)
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "6443"
    assert env["KUBERNETES_PORT_6443_TCP"] == "tcp://127.0.0.1:6443"


def test_service_links_disabled_keep_api_server(store: Store) -> None:
    _create(store, "services", _service("web", "10.96.0.10", [{"port": 80}]))
    pod = _pod({"name": "c"}, enableServiceLinks=False)
    env = resolve_env(pod, {"name": "c"}, store=store, api_host="127.0.0.1", api_port=6443)
    assert "WEB_SERVICE_HOST" not in env
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"


def test_env_value_may_reference_service_links(store: Store) -> None:
    _create(store, "services", _service("db", "10.96.0.11", [{"port": 5432}]))
    container = {"name": "c", "env": [{"name": "URL", "value": "pg://$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)"}]}
    assert _resolve(store, container)["URL"] == "pg://10.96.0.11:5432"


def test_service_env_of_api_service_is_skipped_from_store(store: Store) -> None:
    assert environment.service_env(_service("x", "", [{"port": 1}])) == {}
