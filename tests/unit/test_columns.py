"""Cells of the core kinds' tables, as kubectl get would print them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kfval.embedded.apiserver import columns, tables
from kfval.embedded.clock import rfc3339
from kfval.embedded.store.catalog import Catalog

NOW = datetime(2026, 11, 28, 14, 0, 0, tzinfo=UTC)
CATALOG = Catalog()


def ago(seconds: float) -> str:
    return rfc3339(NOW - timedelta(seconds=seconds))


def row(group: str, version: str, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    """Column name -> cell of the one-row table of `body`."""
    body.setdefault("metadata", {}).setdefault("creationTimestamp", ago(90))
    body["metadata"].setdefault("name", "x")
    table = tables.table(CATALOG.lookup(group, version, resource), [body], resource_version="1", now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    return dict(zip(names, table["rows"][0]["cells"], strict=True))


def test_namespace_shows_its_phase() -> None:
    assert row("", "v1", "namespaces", {"status": {"phase": "Terminating"}}) == {
        "Name": "x",
        "Status": "Terminating",
        "Age": "90s",
    }


def test_configmap_and_secret_count_their_data() -> None:
    assert row("", "v1", "configmaps", {"data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}})["Data"] == 3
    secret = row("", "v1", "secrets", {"type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}})
    assert (secret["Type"], secret["Data"]) == ("kubernetes.io/tls", 2)
    assert row("", "v1", "secrets", {})["Type"] == "Opaque"


def test_serviceaccount_counts_its_secrets() -> None:
    assert row("", "v1", "serviceaccounts", {"secrets": [{"name": "t"}]})["Secrets"] == 1


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        (
            {"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": [{"port": 80, "protocol": "TCP"}]},
            {},
            ("ClusterIP", "10.96.0.10", "<none>", "80/TCP"),
        ),
        (
            {"type": "NodePort", "clusterIP": "10.96.0.11", "ports": [{"port": 80, "nodePort": 30080}]},
            {},
            ("NodePort", "10.96.0.11", "<none>", "80:30080/TCP"),
        ),
        (
            {"type": "LoadBalancer", "clusterIP": "10.96.0.12"},
            {},
            ("LoadBalancer", "10.96.0.12", "<pending>", "<none>"),
        ),
        (
            {"type": "LoadBalancer", "clusterIP": "10.96.0.12", "ports": [{"port": 53, "protocol": "UDP"}]},
            {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
            ("LoadBalancer", "10.96.0.12", "1.2.3.4", "53/UDP"),
        ),
        (
            {"type": "ExternalName", "externalName": "db.example.com"},
            {},
            ("ExternalName", "<none>", "db.example.com", "<none>"),
        ),
        ({"clusterIP": "None", "selector": {"app": "db"}}, {}, ("ClusterIP", "None", "<none>", "<none>")),
    ],
)
def test_service_columns(spec: dict[str, Any], status: dict[str, Any], expected: tuple[str, ...]) -> None:
    cells = row("", "v1", "services", {"spec": spec, "status": status})
    assert (cells["Type"], cells["Cluster-IP"], cells["External-IP"], cells["Port(s)"]) == expected


def test_service_selector_is_wide() -> None:
    cells = row("", "v1", "services", {"spec": {"selector": {"tier": "web", "app": "a"}}})
    assert cells["Selector"] == "app=a,tier=web"


def test_endpoints_list_three_addresses_then_count_the_rest() -> None:
    addresses = [{"ip": f"10.0.0.{i}"} for i in range(1, 6)]
    body = {"subsets": [{"addresses": addresses, "ports": [{"port": 8080}]}]}
    assert row("", "v1", "endpoints", body)["Endpoints"] == "10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 2 more..."
    assert row("", "v1", "endpoints", {})["Endpoints"] == "<none>"


def test_bound_claim_shows_volume_capacity_and_modes() -> None:
    body = {
        "spec": {"volumeName": "pv-1", "storageClassName": "standard"},
        "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"]},
    }
    cells = row("", "v1", "persistentvolumeclaims", body)
    assert cells == {
        "Name": "x",
        "Status": "Bound",
        "Volume": "pv-1",
        "Capacity": "1Gi",
        "Access Modes": "RWO,ROX",
        "StorageClass": "standard",
        "Age": "90s",
        "VolumeMode": "<unset>",
    }
    pending = row("", "v1", "persistentvolumeclaims", {"spec": {}, "status": {"phase": "Pending"}})
    assert (pending["Status"], pending["Capacity"], pending["Access Modes"]) == ("Pending", "", "")


def test_node_status_roles_and_version() -> None:
    body = {
        "metadata": {"name": "fake-node", "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0"},
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        },
    }
    cells = row("", "v1", "nodes", body)
    assert (cells["Status"], cells["Roles"], cells["Version"]) == (
        "Ready,SchedulingDisabled",
        "control-plane",
        "v1.32.0",
    )
    assert cells["Internal-IP"] == "127.0.0.1"
    assert row("", "v1", "nodes", {})["Status"] == "Unknown"


def test_core_event_columns() -> None:
    body = {
        "metadata": {"name": "p.1"},
        "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{main}"},
        "type": "Warning",
        "reason": "BackOff",
        "message": "Back-off restarting failed container\n",
        "firstTimestamp": ago(600),
        "lastTimestamp": ago(30),
        "count": 4,
        "source": {"component": "kubelet", "host": "fake-node"},
    }
    cells = row("", "v1", "events", body)
    assert cells == {
        "Last Seen": "30s",
        "Type": "Warning",
        "Reason": "BackOff",
        "Object": "pod/p",
        "Subobject": "spec.containers{main}",
        "Source": "kubelet, fake-node",
        "Message": "Back-off restarting failed container",
        "First Seen": "10m",
        "Count": 4,
        "Name": "p.1",
    }


def test_events_k8s_io_events_read_their_renamed_fields() -> None:
    body = {
        "regarding": {"kind": "Deployment", "name": "web"},
        "type": "Normal",
        "reason": "ScalingReplicaSet",
        "note": "Scaled up",
        "eventTime": "2026-11-28T13:59:00.000000Z",
        "reportingController": "deployment-controller",
    }
    cells = row("events.k8s.io", "v1", "events", body)
    assert (cells["Object"], cells["Message"], cells["Last Seen"], cells["Count"]) == (
        "deployment/web",
        "Scaled up",
        "60s",
        1,
    )
    assert cells["Source"] == "deployment-controller"


def test_crd_prints_its_creation_time_verbatim() -> None:
    cells = row("apiextensions.k8s.io", "v1", "customresourcedefinitions", {"metadata": {"name": "a.b"}})
    assert cells == {"Name": "a.b", "Created At": ago(90)}


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        (None, "<none>"),
        ({}, "<none>"),
        ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
        (
            {
                "matchLabels": {"app": "x"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["web", "api"]},
                    {"key": "env", "operator": "NotIn", "values": ["prod"]},
                    {"key": "legacy", "operator": "DoesNotExist"},
                    {"key": "ok", "operator": "Exists"},
                ],
            },
            "app=x,env notin (prod),!legacy,ok,tier in (api,web)",
        ),
    ],
)
def test_label_selectors_print_like_kubectl(selector: dict[str, Any] | None, text: str) -> None:
    assert columns.format_selector(selector) == text


def test_column_definition_shape() -> None:
    assert columns.NAME.definition()["format"] == "name"
    assert columns.Column("Ready").definition() == {
        "name": "Ready",
        "type": "string",
        "format": "",
        "description": "Ready",
        "priority": 0,
    }
