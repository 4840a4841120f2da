"""Server-side apply: upsert, merge by key, removal of dropped fields, managedFields and conflicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kfval.embedded import errors
from kfval.embedded.apiserver import applying, fieldpaths

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:01:00Z"
T2 = "2026-01-01T00:02:00Z"


def configmap(data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "cfg", "namespace": "kf-a"}
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def deployment(*containers: dict[str, Any], replicas: int | None = 1) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "d1"}},
        "template": {"metadata": {"labels": {"app": "d1"}}, "spec": {"containers": list(containers)}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d1", "namespace": "kf-a"},
        "spec": spec,
    }


def apply(current: dict[str, Any] | None, applied: dict[str, Any], manager: str, **kw: Any) -> dict[str, Any]:
    kind = applied["kind"]
    return applying.server_side_apply(
        current, applied, manager=manager, force=kw.get("force", False), kind=kind, now=kw.get("now", T0)
    )


def entry(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    found = [e for e in obj["metadata"]["managedFields"] if e["manager"] == manager]
    assert len(found) == 1, obj["metadata"].get("managedFields")
    return found[0]


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return result


def test_apply_creates_the_object_and_records_an_apply_entry() -> None:
    applied = configmap({"a": "1"}, labels={"app": "web"})
    created = apply(None, applied, "kubectl")
    assert created["data"] == {"a": "1"}
    assert created["metadata"]["labels"] == {"app": "web"}
    assert created["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}},
        }
    ]
    assert "managedFields" not in applied["metadata"]


def test_keyed_list_items_are_members_with_their_fields() -> None:
    created = apply(None, deployment({"name": "main", "image": "a", "ports": [{"containerPort": 80}]}), "python")
    fields = entry(created, "python")["fieldsV1"]
    main = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"main"}']
    assert main == {
        ".": {},
        "f:name": {},
        "f:image": {},
        "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
    }
    assert fields["f:spec"]["f:replicas"] == {}


def test_reapply_by_the_same_manager_changes_and_drops_its_own_fields() -> None:
    live = apply(None, configmap({"a": "1", "b": "2"}, labels={"app": "web", "tier": "front"}), "python")
    upgraded = apply(live, configmap({"a": "10"}, labels={"app": "web"}), "python", now=T1)
    assert upgraded["data"] == {"a": "10"}
    assert upgraded["metadata"]["labels"] == {"app": "web"}
    assert entry(upgraded, "python")["fieldsV1"] == {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}
    assert entry(upgraded, "python")["time"] == T1


def test_reapply_dropping_a_container_removes_it() -> None:
    live = apply(None, deployment({"name": "main", "image": "a"}, {"name": "sidecar", "image": "b"}), "python")
    upgraded = apply(live, deployment({"name": "main", "image": "a2"}), "python")
    assert containers(upgraded) == [{"name": "main", "image": "a2"}]


def test_other_managers_containers_merge_by_name() -> None:
    live = apply(None, deployment({"name": "main", "image": "a"}), "python")
    sidecar = deployment({"name": "sidecar", "image": "b"}, replicas=None)
    merged = apply(live, sidecar, "kubectl", now=T1)
    assert containers(merged) == [{"name": "main", "image": "a"}, {"name": "sidecar", "image": "b"}]
    kubectl_fields = entry(merged, "kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(kubectl_fields) == ['k:{"name":"sidecar"}']
    python_fields = entry(merged, "python")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(python_fields) == ['k:{"name":"main"}']
    assert merged["spec"]["replicas"] == 1


def test_field_of_another_applier_with_a_different_value_conflicts() -> None:
    live = apply(None, deployment({"name": "main", "image": "a"}, replicas=3), "python")
    scaled = deployment({"name": "main", "image": "a"}, replicas=5)
    with pytest.raises(errors.ConflictError) as caught:
        apply(live, scaled, "kubectl")
    assert caught.value.code == 409
    assert caught.value.reason == "Conflict"
    assert caught.value.message == 'Apply failed with 1 conflict: conflict with "python": .spec.replicas'
    assert caught.value.details == {
        "causes": [{"reason": "FieldManagerConflict", "message": 'conflict with "python"', "field": ".spec.replicas"}]
    }


def test_force_takes_the_field_over() -> None:
    live = apply(None, deployment({"name": "main", "image": "a"}, replicas=3), "python")
    forced = apply(live, deployment({"name": "main", "image": "a"}, replicas=5), "kubectl", force=True)
    assert forced["spec"]["replicas"] == 5
    assert "f:replicas" not in entry(forced, "python")["fieldsV1"]["f:spec"]
    assert "f:replicas" in entry(forced, "kubectl")["fieldsV1"]["f:spec"]


def test_same_value_is_shared_and_survives_when_one_owner_drops_it() -> None:
    live = apply(None, configmap({"a": "1"}), "python")
    shared = apply(live, configmap({"a": "1"}), "kubectl")
    assert entry(shared, "python")["fieldsV1"] == entry(shared, "kubectl")["fieldsV1"]
    dropped = apply(shared, configmap({}), "python")
    assert dropped["data"] == {"a": "1"}


def test_conflicts_name_each_field_and_update_managers_with_their_version() -> None:
    live = apply(None, deployment({"name": "main", "image": "a"}, replicas=1), "python")
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 2
    containers(edited)[0]["image"] = "edited"
    edited = applying.update_managed_fields(live, edited, manager="kubectl-edit", now=T1)
    assert entry(edited, "kubectl-edit")["operation"] == "Update"
    with pytest.raises(errors.ConflictError) as caught:
        apply(edited, deployment({"name": "main", "image": "a"}, replicas=1), "python", now=T2)
    assert caught.value.message == (
        'Apply failed with 2 conflicts: conflicts with "kubectl-edit" using apps/v1:\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="main"].image'
    )


def test_update_takes_changed_fields_from_other_managers() -> None:
    live = apply(None, configmap({"a": "1", "b": "2"}), "python")
    edited = copy.deepcopy(live)
    edited["data"]["a"] = "changed"
    del edited["data"]["b"]
    edited = applying.update_managed_fields(live, edited, manager="kubectl-edit", now=T1)
    assert entry(edited, "kubectl-edit")["fieldsV1"] == {"f:data": {"f:a": {}}}
    assert [e["manager"] for e in edited["metadata"]["managedFields"]] == ["kubectl-edit"]


def test_update_on_create_owns_everything_and_apply_keeps_it_unless_changed() -> None:
    created = applying.update_managed_fields(None, configmap({"a": "1"}), manager="kubectl-create", now=T0)
    assert created["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {"f:a": {}}}
    applied = apply(created, configmap({"a": "1", "b": "2"}), "python", now=T1)
    assert applied["data"] == {"a": "1", "b": "2"}
    operations = [(e["manager"], e["operation"]) for e in applied["metadata"]["managedFields"]]
    assert operations == [("python", "Apply"), ("kubectl-create", "Update")]


def test_noop_reapply_keeps_the_entry_time() -> None:
    live = apply(None, configmap({"a": "1"}), "python")
    again = apply(live, configmap({"a": "1"}), "python", now=T2)
    assert entry(again, "python")["time"] == T0
    assert again == live


def test_fields_v1_round_trip() -> None:
    paths = frozenset(
        {
            ("f:spec", "f:containers", 'k:{"name":"main"}'),
            ("f:spec", "f:containers", 'k:{"name":"main"}', "f:image"),
            ("f:metadata", "f:finalizers", 'v:"a/b"'),
        }
    )
    tree = fieldpaths.to_fields_v1(paths)
    assert tree["f:spec"]["f:containers"]['k:{"name":"main"}'] == {".": {}, "f:image": {}}
    assert fieldpaths.from_fields_v1(tree) == paths


def test_helm_install_and_upgrade_through_a_real_store() -> None:
    from kfval.embedded.clock import SystemClock, rfc3339
    from kfval.embedded.store.catalog import Catalog
    from kfval.embedded.store.objects import Store

    clock = SystemClock()
    store = Store(Catalog(), clock)
    store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "kf-a"}})
    configmaps = store.catalog.lookup("", "v1", "configmaps")
    installed = apply(None, configmap({"a": "1", "b": "2"}), "python", now=rfc3339(clock.now()))
    stored = store.create(configmaps, installed, namespace="kf-a")
    upgraded = apply(stored, configmap({"a": "3"}), "python", now=rfc3339(clock.now()))
    stored = store.replace(configmaps, upgraded, namespace="kf-a")
    assert store.get(configmaps, "kf-a", "cfg")["data"] == {"a": "3"}
    assert entry(stored, "python")["fieldsV1"] == {"f:data": {"f:a": {}}}
    assert stored["metadata"]["resourceVersion"] != installed["metadata"].get("resourceVersion")


def test_finalizers_are_a_set_and_dropped_values_leave_others() -> None:
    def finalized(values: list[str]) -> dict[str, Any]:
        body = configmap({})
        body["metadata"]["finalizers"] = values
        return body

    live = apply(None, finalized(["x/a", "x/b"]), "python")
    live["metadata"]["finalizers"].append("other/c")
    upgraded = apply(live, finalized(["x/b"]), "python")
    assert upgraded["metadata"]["finalizers"] == ["x/b", "other/c"]
    assert entry(upgraded, "python")["fieldsV1"]["f:metadata"] == {"f:finalizers": {'v:"x/b"': {}}}


def test_service_ports_match_live_items_through_the_protocol_default() -> None:
    def service(ports: list[dict[str, Any]]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": ports}}

    live = apply(None, service([{"port": 80, "name": "http"}]), "python")
    live["spec"]["ports"][0].update({"protocol": "TCP", "targetPort": 80})
    upgraded = apply(live, service([{"port": 80, "name": "web"}]), "python")
    assert upgraded["spec"]["ports"] == [{"port": 80, "name": "web", "protocol": "TCP", "targetPort": 80}]
