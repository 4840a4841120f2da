"""OpenAPI v3 documents: what kubectl's and Helm's field-validation verifier looks for, and cache hashes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded.apiserver import openapi
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.catalog import Catalog

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "api-examples"
PYTORCHJOB_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}


def pytorchjob_crd(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "pytorchjobs.kubeflow.org"},
        "spec": {
            "group": "kubeflow.org",
            "scope": "Namespaced",
            "names": {"plural": "pytorchjobs", "singular": "pytorchjob", "kind": "PyTorchJob"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": schema or PYTORCHJOB_SCHEMA},
                }
            ],
        },
    }


def notebook_crd() -> dict[str, Any]:
    crd = pytorchjob_crd()
    crd["metadata"]["name"] = "notebooks.kubeflow.org"
    crd["spec"]["names"] = {"plural": "notebooks", "singular": "notebook", "kind": "Notebook"}
    return crd


def patch_operations(document: dict[str, Any], gvk: dict[str, str]) -> Iterator[dict[str, Any]]:
    """What client-go's QueryParamVerifierV3 walks: PATCH operations tagged with the object's kind."""
    for path in document["paths"].values():
        patch = path.get("patch")
        if patch is not None and patch["x-kubernetes-group-version-kind"] == gvk:
            yield patch


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_root_points_at_every_group_version_with_a_hash() -> None:
    root = openapi.root(Catalog())
    recorded = json.loads((EXAMPLES / "openapi_v3_root.json").read_text())
    assert recorded["paths"].keys() <= root["paths"].keys()
    for path, entry in root["paths"].items():
        assert re.fullmatch(rf"/openapi/v3/{re.escape(path)}\?hash=[0-9A-F]{{32}}", entry["serverRelativeURL"])
    assert "apis/kubeflow.org/v1" not in root["paths"]


def test_hash_is_stable_and_changes_when_a_crd_changes_its_group_version() -> None:
    catalog = Catalog()
    before = openapi.root(catalog)["paths"]
    assert openapi.root(catalog)["paths"] == before
    catalog.register_crd(pytorchjob_crd())
    with_job = openapi.root(catalog)["paths"]
    assert "apis/kubeflow.org/v1" in with_job
    assert with_job["apis/apps/v1"] == before["apis/apps/v1"]
    catalog.register_crd(notebook_crd())
    with_notebook = openapi.root(catalog)["paths"]["apis/kubeflow.org/v1"]
    assert with_notebook != with_job["apis/kubeflow.org/v1"]
    catalog.register_crd(pytorchjob_crd({"type": "object", "x-kubernetes-preserve-unknown-fields": True}))
    assert openapi.root(catalog)["paths"]["apis/kubeflow.org/v1"] != with_notebook


def test_every_patchable_kind_passes_the_field_validation_verifier() -> None:
    catalog = Catalog()
    catalog.register_crd(pytorchjob_crd())
    for rt in catalog:
        if "patch" not in rt.verbs:
            continue
        path = f"apis/{rt.group}/{rt.version}" if rt.group else "api/v1"
        document = openapi.group_version_document(catalog, path)
        patches = list(patch_operations(document, {"group": rt.group, "version": rt.version, "kind": rt.kind}))
        assert patches, rt
        for patch in patches:
            assert "fieldValidation" in {p["name"] for p in patch["parameters"] if p["in"] == "query"}
            assert "requestBody" not in patch, "kubectl would build strategic merge patches from these schemas"


def test_crd_document_follows_the_recorded_minimal_shape() -> None:
    catalog = Catalog()
    catalog.register_crd(pytorchjob_crd())
    document = openapi.group_version_document(catalog, "apis/kubeflow.org/v1")
    recorded = json.loads((EXAMPLES / "openapi_v3_gv_minimal_kubeflow.json").read_text())
    assert document["openapi"] == recorded["openapi"]
    assert recorded["paths"].keys() <= document["paths"].keys()
    for path, operations in recorded["paths"].items():
        for method, operation in operations.items():
            mine = document["paths"][path][method]
            assert mine["x-kubernetes-group-version-kind"] == operation["x-kubernetes-group-version-kind"]
            assert mine["x-kubernetes-action"] == operation["x-kubernetes-action"]
            assert {p["name"] for p in operation["parameters"]} <= {p["name"] for p in mine["parameters"]}
    assert "/apis/kubeflow.org/v1/namespaces/{namespace}/pytorchjobs/{name}/status" in document["paths"]
    assert "/apis/kubeflow.org/v1/pytorchjobs" in document["paths"]


def test_crd_schema_is_published_with_its_kind_and_object_meta() -> None:
    catalog = Catalog()
    catalog.register_crd(pytorchjob_crd())
    schemas = openapi.group_version_document(catalog, "apis/kubeflow.org/v1")["components"]["schemas"]
    schema = schemas["org.kubeflow.v1.PyTorchJob"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "kubeflow.org", "version": "v1", "kind": "PyTorchJob"}
    ]
    assert schema["properties"]["spec"] == PYTORCHJOB_SCHEMA["properties"]["spec"]
    assert schema["properties"]["metadata"] == {"$ref": f"#/components/schemas/{openapi.OBJECT_META_SCHEMA_NAME}"}
    assert schemas[openapi.OBJECT_META_SCHEMA_NAME]["x-kubernetes-preserve-unknown-fields"] is True
    assert "metadata" not in PYTORCHJOB_SCHEMA["properties"], "the catalog's schema must not be modified"


def test_builtin_schemas_are_open_and_carry_patch_merge_keys() -> None:
    document = openapi.group_version_document(Catalog(), "api/v1")
    schemas = document["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-preserve-unknown-fields"] is True
    pod_spec = schemas["io.k8s.api.core.v1.PodSpec"]
    containers = pod_spec["properties"]["containers"]
    assert (containers["x-kubernetes-patch-merge-key"], containers["x-kubernetes-patch-strategy"]) == ("name", "merge")
    env = schemas["io.k8s.api.core.v1.Container"]["properties"]["env"]
    assert env["x-kubernetes-patch-merge-key"] == "name"


def test_every_reference_resolves_inside_its_document() -> None:
    catalog = Catalog()
    catalog.register_crd(pytorchjob_crd())
    for path in openapi.root(catalog)["paths"]:
        document = openapi.group_version_document(catalog, path)
        names = document["components"]["schemas"].keys()
        for ref in refs(document):
            assert ref.removeprefix("#/components/schemas/") in names, (path, ref)
        json.dumps(document)


def test_cluster_scoped_kinds_have_no_namespace_segment() -> None:
    paths = openapi.group_version_document(Catalog(), "api/v1")["paths"]
    assert "/api/v1/namespaces/{name}" in paths
    parameters = {p["name"] for p in paths["/api/v1/namespaces/{name}"]["parameters"]}
    assert parameters == {"name"}
    assert "/api/v1/namespaces/{namespace}/pods/{name}" in paths


def test_scale_operations_are_tagged_as_autoscaling_scale() -> None:
    paths = openapi.group_version_document(Catalog(), "apis/apps/v1")["paths"]
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


@pytest.mark.parametrize("path", ["/api/v1", "openapi/v3/api/v1", "apis/apps/v1?hash=ABC"])
def test_document_paths_are_accepted_in_their_spellings(path: str) -> None:
    assert openapi.group_version_document(Catalog(), path)["paths"]


@pytest.mark.parametrize("path", ["api", "apis/apps", "apis/kubeflow.org/v1", "api/v2", "apis/apps/v1/extra"])
def test_unserved_documents_are_not_found(path: str) -> None:
    with pytest.raises(NotFoundError):
        openapi.group_version_document(Catalog(), path)
