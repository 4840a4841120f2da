"""PATCH semantics: JSON patch, merge patch and strategic merge patch as the real apiserver applies them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kfval.embedded import errors
from kfval.embedded.apiserver import patching
from kfval.embedded.types import Body

SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def pod(*containers: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "kf-a", "labels": labels or {"app": "web"}},
        "spec": {"containers": list(containers)},
    }


def deployment(*containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d1", "namespace": "kf-a"},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": "d1"}}, "spec": {"containers": list(containers)}},
        },
    }


def patch(current: dict[str, Any], body: Any, content_type: str = SMP, *, is_custom: bool = False) -> dict[str, Any]:
    kind = current.get("kind", "")
    return patching.apply_patch(current, json.dumps(body).encode(), content_type, kind=kind, is_custom=is_custom)


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def test_kubectl_apply_patch_with_set_element_order_adds_env_after_existing() -> None:
    current = pod({"name": "main", "image": "busybox", "env": [{"name": "A", "value": "1"}]})
    before = copy.deepcopy(current)
    kubectl_patch = {
        "metadata": {"labels": {"tier": "front"}},
        "spec": {
            "$setElementOrder/containers": [{"name": "main"}],
            "containers": [
                {
                    "$setElementOrder/env": [{"name": "A"}, {"name": "B"}],
                    "env": [{"name": "B", "value": "2"}],
                    "name": "main",
                }
            ],
        },
    }
    result = patch(current, kubectl_patch)
    assert result["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert result["spec"]["containers"] == [
        {"name": "main", "image": "busybox", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    ]
    assert current == before


def test_set_element_order_reorders_and_delete_directive_removes_env() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]
    current = pod({"name": "main", "image": "busybox", "env": env})
    result = patch(
        current,
        {
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "$setElementOrder/env": [{"name": "C"}, {"name": "A"}],
                        "env": [{"name": "B", "$patch": "delete"}],
                    }
                ]
            }
        },
    )
    assert result["spec"]["containers"][0]["env"] == [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}]


def test_patch_delete_directive_removes_one_container() -> None:
    current = pod({"name": "main", "image": "a"}, {"name": "sidecar", "image": "b"})
    result = patch(current, {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}})
    assert result["spec"]["containers"] == [{"name": "main", "image": "a"}]


def test_patch_replace_directive_replaces_the_whole_list() -> None:
    current = pod({"name": "main", "image": "a"}, {"name": "sidecar", "image": "b"})
    result = patch(current, {"spec": {"containers": [{"name": "solo", "image": "c"}, {"$patch": "replace"}]}})
    assert result["spec"]["containers"] == [{"name": "solo", "image": "c"}]


def test_map_delete_and_replace_directives() -> None:
    current = pod({"name": "main", "image": "a"}, labels={"app": "web", "tier": "front"})
    replaced = patch(current, {"metadata": {"labels": {"$patch": "replace", "only": "this"}}})
    assert replaced["metadata"]["labels"] == {"only": "this"}
    deleted = patch(current, {"metadata": {"labels": {"$patch": "delete"}}})
    assert deleted["metadata"]["labels"] == {}


def test_new_container_without_order_directive_goes_first_as_upstream() -> None:
    current = pod({"name": "main", "image": "a"})
    result = patch(current, {"spec": {"containers": [{"name": "sidecar", "image": "b"}]}})
    assert names(result["spec"]["containers"]) == ["sidecar", "main"]


def test_retain_keys_drops_the_other_union_member() -> None:
    current = deployment({"name": "main", "image": "a"})
    result = patch(current, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_must_list_every_patched_key() -> None:
    current = deployment({"name": "main", "image": "a"})
    with pytest.raises(errors.BadRequestError, match="retainKeys"):
        patch(current, {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}})


def test_deployment_template_containers_merge_by_name() -> None:
    current = deployment({"name": "main", "image": "a", "ports": [{"containerPort": 80, "protocol": "TCP"}]})
    result = patch(
        current,
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "ports": [{"containerPort": 8080}]}]}}}},
    )
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "a"
    assert [p["containerPort"] for p in container["ports"]] == [8080, 80]


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list() -> None:
    current = pod({"name": "main", "image": "a"})
    current["metadata"]["finalizers"] = ["a.example/x", "b.example/y"]
    added = patch(current, {"metadata": {"finalizers": ["b.example/y", "c.example/z"]}})
    assert added["metadata"]["finalizers"] == ["a.example/x", "b.example/y", "c.example/z"]
    removed = patch(current, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example/x"]}})
    assert removed["metadata"]["finalizers"] == ["b.example/y"]


def test_status_conditions_merge_by_type() -> None:
    current = pod({"name": "main", "image": "a"})
    current["status"] = {
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]
    }
    result = patch(current, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "PodScheduled", "status": "True"},
    ]


def test_null_deletes_and_atomic_lists_are_replaced() -> None:
    current = pod({"name": "main", "image": "a", "args": ["x", "y"]}, labels={"app": "web", "tier": "front"})
    result = patch(
        current, {"metadata": {"labels": {"tier": None}}, "spec": {"containers": [{"name": "main", "args": ["z"]}]}}
    )
    assert result["metadata"]["labels"] == {"app": "web"}
    assert result["spec"]["containers"][0]["args"] == ["z"]


def test_missing_merge_key_is_an_internal_error_as_upstream() -> None:
    current = pod({"name": "main", "image": "a"})
    with pytest.raises(errors.InternalError, match="does not contain declared merge key: name"):
        patch(current, {"spec": {"containers": [{"image": "b"}]}})


def test_strategic_merge_patch_to_a_custom_resource_is_415() -> None:
    job = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": "j"}, "spec": {}}
    with pytest.raises(errors.UnsupportedMediaError) as caught:
        patch(job, {"spec": {"x": 1}}, is_custom=True)
    assert caught.value.code == 415
    assert caught.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )


def test_merge_patch_on_custom_resource_replaces_lists_and_deletes_nulls() -> None:
    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "j", "labels": {"a": "1", "b": "2"}},
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "template": {"spec": {"containers": [{"name": "pytorch"}]}}}
            }
        },
    }
    body = {
        "metadata": {"labels": {"a": None}},
        "spec": {"pytorchReplicaSpecs": {"Master": {"template": {"spec": {"containers": [{"name": "other"}]}}}}},
    }
    result = patch(job, body, f"{MERGE}; charset=utf-8", is_custom=True)
    assert result["metadata"]["labels"] == {"b": "2"}
    master = result["spec"]["pytorchReplicaSpecs"]["Master"]
    assert master["replicas"] == 1
    assert master["template"]["spec"]["containers"] == [{"name": "other"}]
    assert job["metadata"]["labels"] == {"a": "1", "b": "2"}


def test_json_patch_add_remove_replace_and_test() -> None:
    current = pod({"name": "main", "image": "a"}, labels={"app": "web", "tier": "front"})
    ops = [
        {"op": "test", "path": "/metadata/labels/app", "value": "web"},
        {"op": "add", "path": "/metadata/labels/env", "value": "prod"},
        {"op": "remove", "path": "/metadata/labels/tier"},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "b"},
    ]
    result = patch(current, ops, JSON_PATCH)
    assert result["metadata"]["labels"] == {"app": "web", "env": "prod"}
    assert result["spec"]["containers"][0]["image"] == "b"
    assert current["spec"]["containers"][0]["image"] == "a"


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/metadata/labels/app", "value": "other"}],
        [{"op": "remove", "path": "/metadata/labels/missing"}],
        [{"op": "replace", "path": "/spec/nothing/here", "value": 1}],
        [{"op": "frobnicate", "path": "/spec"}],
    ],
)
def test_json_patch_that_does_not_apply_is_422(ops: list[dict[str, Any]]) -> None:
    current = pod({"name": "main", "image": "a"})
    with pytest.raises(errors.InvalidError) as caught:
        patch(current, ops, JSON_PATCH)
    assert caught.value.code == 422
    assert caught.value.reason == "Invalid"
    assert caught.value.message == "the server rejected our request due to an error in our request"
    assert caught.value.details is not None
    assert caught.value.details["causes"][0]["reason"] == "UnexpectedServerResponse"


def test_undecodable_bodies_are_400() -> None:
    current = pod({"name": "main", "image": "a"})
    with pytest.raises(errors.BadRequestError):
        patching.apply_patch(current, b"{not json", SMP, kind="Pod", is_custom=False)
    with pytest.raises(errors.BadRequestError):
        patch(current, {"op": "add"}, JSON_PATCH)
    with pytest.raises(errors.BadRequestError):
        patch(current, ["not", "an", "object"], MERGE)


def test_unknown_patch_type_is_415_listing_the_built_in_types() -> None:
    current = pod({"name": "main", "image": "a"})
    with pytest.raises(errors.UnsupportedMediaError, match="application/strategic-merge-patch\\+json"):
        patch(current, {}, "application/yaml")


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"op": "test", "path": "/data/a", "value": "2"}, "testing value /data/a failed: test failed"),
        ({"op": "remove", "path": "/data/zz"}, "Unable to remove nonexistent key: zz: missing value"),
        (
            {"op": "replace", "path": "/x/y", "value": 1},
            "replace operation does not apply: doc is missing key: /x/y: missing value",
        ),
    ],
)
def test_a_json_patch_that_does_not_apply_is_worded_without_python_reprs(operation: Body, message: str) -> None:
    with pytest.raises(patching.PatchRejectedError) as caught:
        patching.json_patch({"data": {"a": "1"}}, [operation])
    assert caught.value.details["causes"][0]["message"] == message
