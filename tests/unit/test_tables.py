"""Table output as kubectl negotiates it: shape, row objects, custom resource printer columns."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded.apiserver import tables
from kfval.embedded.clock import SystemClock, parse_rfc3339
from kfval.embedded.errors import BadRequestError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "api-examples"
KUBECTL_TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


def crd(printer_columns: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}}
    if printer_columns is not None:
        version["additionalPrinterColumns"] = printer_columns
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "pytorchjobs.kubeflow.org"},
        "spec": {
            "group": "kubeflow.org",
            "scope": "Namespaced",
            "names": {"plural": "pytorchjobs", "singular": "pytorchjob", "kind": "PyTorchJob"},
            "versions": [version],
        },
    }


STATE_AND_AGE = [
    {"name": "State", "type": "string", "jsonPath": ".status.conditions[-1:].type"},
    {"name": "Workers", "type": "integer", "jsonPath": ".spec.pytorchReplicaSpecs.Worker.replicas", "priority": 1},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


@pytest.fixture
def store() -> Store:
    store = Store(Catalog(), SystemClock())
    store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "ex"}})
    return store


def later(body: dict[str, Any], seconds: float) -> datetime:
    return parse_rfc3339(body["metadata"]["creationTimestamp"]) + timedelta(seconds=seconds)


def running_pod(store: Store) -> dict[str, Any]:
    pods = store.catalog.lookup("", "v1", "pods")
    return store.create(
        pods,
        {
            "metadata": {"name": "p", "labels": {"run": "p"}},
            "spec": {"containers": [{"name": "p", "image": "busybox"}], "nodeName": "fake-node"},
            "status": {
                "phase": "Running",
                "podIP": "10.244.0.16",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "p", "ready": True, "restartCount": 0, "state": {"running": {}}}],
            },
        },
        namespace="ex",
    )


def test_wants_table_follows_kubectls_accept_header() -> None:
    assert tables.wants_table(KUBECTL_TABLE_ACCEPT)
    assert not tables.wants_table("application/json")
    assert not tables.wants_table("application/json;as=Table;v=v1beta1;g=meta.k8s.io")
    assert not tables.wants_table("application/vnd.kubernetes.protobuf, */*")


def test_pod_table_matches_the_recorded_shape(store: Store) -> None:
    pod = running_pod(store)
    rt = store.catalog.lookup("", "v1", "pods")
    table = tables.table(rt, [pod], resource_version="1015", now=later(pod, 2))
    recorded = json.loads((EXAMPLES / "table_pods.json").read_text())
    assert {k: table[k] for k in ("kind", "apiVersion", "metadata")} == {
        k: recorded[k] for k in ("kind", "apiVersion", "metadata")
    }
    for mine, theirs in zip(table["columnDefinitions"], recorded["columnDefinitions"], strict=False):
        assert {k: mine[k] for k in ("name", "type", "format", "priority")} == {
            k: theirs[k] for k in ("name", "type", "format", "priority")
        }
    assert table["rows"][0]["cells"][:7] == recorded["rows"][0]["cells"]
    shown = table["rows"][0]["object"]
    assert (shown["kind"], shown["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1")
    assert shown["metadata"] == pod["metadata"]


def test_include_object_chooses_what_each_row_carries(store: Store) -> None:
    pod = running_pod(store)
    rt = store.catalog.lookup("", "v1", "pods")
    now = later(pod, 1)
    assert tables.table(rt, [pod], resource_version="1", now=now, include_object="Object")["rows"][0]["object"] == pod
    assert "object" not in tables.table(rt, [pod], resource_version="1", now=now, include_object="None")["rows"][0]
    with pytest.raises(BadRequestError):
        tables.table(rt, [pod], resource_version="1", now=now, include_object="Everything")


def test_every_table_names_its_first_column_by_format_name(store: Store) -> None:
    for rt in store.catalog:
        names = [c for c in tables.printer_for(rt).columns if c.format == "name"]
        assert len(names) == 1, rt
        if rt.resource != "events":
            assert tables.printer_for(rt).columns[0].format == "name", rt


def test_custom_resources_print_their_printer_columns(store: Store) -> None:
    store.catalog.register_crd(crd(STATE_AND_AGE))
    rt = store.catalog.lookup("kubeflow.org", "v1", "pytorchjobs")
    job = store.create(
        rt,
        {"metadata": {"name": "mnist"}, "spec": {"pytorchReplicaSpecs": {"Worker": {"replicas": 2}}}},
        namespace="ex",
    )
    job["status"] = {"conditions": [{"type": "Created", "status": "True"}, {"type": "Running", "status": "True"}]}
    table = tables.table(rt, [job], resource_version="7", now=later(job, 185))
    definitions = table["columnDefinitions"]
    assert [(c["name"], c["type"], c["priority"]) for c in definitions] == [
        ("Name", "string", 0),
        ("State", "string", 0),
        ("Workers", "integer", 1),
        ("Age", "date", 0),
    ]
    assert table["rows"][0]["cells"] == ["mnist", "Running", 2, "3m5s"]


def test_missing_printer_column_values_are_null(store: Store) -> None:
    store.catalog.register_crd(crd(STATE_AND_AGE))
    rt = store.catalog.lookup("kubeflow.org", "v1", "pytorchjobs")
    job = store.create(rt, {"metadata": {"name": "fresh"}}, namespace="ex")
    assert tables.table(rt, [job], resource_version="7", now=later(job, 5))["rows"][0]["cells"] == [
        "fresh",
        None,
        None,
        "5s",
    ]


def test_custom_resources_without_columns_print_name_and_age(store: Store) -> None:
    store.catalog.register_crd(crd())
    rt = store.catalog.lookup("kubeflow.org", "v1", "pytorchjobs")
    job = store.create(rt, {"metadata": {"name": "plain"}}, namespace="ex")
    table = tables.table(rt, [job], resource_version="7", now=later(job, 30))
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["plain", "30s"]


def test_kinds_without_a_printer_print_name_and_age(store: Store) -> None:
    rt = store.catalog.lookup("coordination.k8s.io", "v1", "leases")
    lease = store.create(rt, {"metadata": {"name": "leader"}, "spec": {}}, namespace="ex")
    table = tables.table(rt, [lease], resource_version="3", now=later(lease, 600))
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["leader", "10m"]


def test_an_empty_list_still_has_its_columns(store: Store) -> None:
    rt = store.catalog.lookup("apps", "v1", "deployments")
    table = tables.table(rt, [], resource_version="9", now=datetime.now().astimezone())
    assert table["rows"] == []
    assert [c["name"] for c in table["columnDefinitions"]][:5] == ["Name", "Ready", "Up-to-date", "Available", "Age"]


CONDITIONS = {
    "status": {
        "conditions": [{"type": "Created", "status": "True"}, {"type": "Running", "status": "False"}],
        "flag": True,
        "replicaStatuses": {"Worker": {"active": 2}},
    },
    "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
}


@pytest.mark.parametrize(
    ("path", "values"),
    [
        (".status.conditions[-1:].type", ["Running"]),
        (".status.conditions[0].type", ["Created"]),
        (".status.conditions[5].type", []),
        (".status.conditions[*].type", ["Created", "Running"]),
        ('.status.conditions[?(@.type=="Running")].status', ["False"]),
        ('.status.conditions[?(@.type!="Running")].type', ["Created"]),
        (".status.replicaStatuses.Worker.active", [2]),
        (r".metadata.labels.app\.kubernetes\.io/name", ["web"]),
        (".metadata.labels['app.kubernetes.io/name']", ["web"]),
        ("{.status.flag}", [True]),
        (".status.missing.deeper", []),
    ],
)
def test_jsonpath_evaluates_the_paths_crds_use(path: str, values: list[Any]) -> None:
    assert tables.evaluate_jsonpath(CONDITIONS, path) == values


def test_malformed_jsonpath_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError):
        tables.evaluate_jsonpath(CONDITIONS, "status..[")
