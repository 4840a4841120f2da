"""fieldValidation and the store's custom resources: strict decoding, status apart from spec, defaults on read."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from kfval.embedded import warning
from kfval.embedded.admission import customresources
from kfval.embedded.admission.chain import Admission
from kfval.embedded.apiserver import fieldvalidation
from kfval.embedded.apiserver.fieldvalidation import FieldValidation
from kfval.embedded.clock import SystemClock
from kfval.embedded.errors import BadRequestError, InvalidError, UnclassifiedError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ResourceType

CRD: Body = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {"size": {"type": "integer"}},
                            },
                            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture
def store() -> Store:
    made = Store(Catalog(), SystemClock())
    made.register_catalog_hook()
    made.admission = Admission()
    made.decoder = customresources.read
    made.create(made.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "team"}})
    made.create(made.catalog.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions"), copy.deepcopy(CRD))
    return made


def _widgets(store: Store) -> ResourceType:
    return store.catalog.lookup("example.com", "v1", "widgets")


def _directive(query: str) -> FieldValidation:
    return FieldValidation.of(make_mocked_request("POST", f"/apis/example.com/v1/widgets{query}"), "CreateOptions")


def test_strict_refuses_unknown_and_duplicate_fields_as_the_decoder_words_them(store: Store) -> None:
    data = b'{"spec": {"size": 1, "size": 2, "foo": 1, "bar": {"x": 1}}, "metadata": {"name": "w", "zz": 1}}'
    body: dict[str, Any] = {"spec": {"size": 2, "foo": 1, "bar": {"x": 1}}, "metadata": {"name": "w", "zz": 1}}
    with pytest.raises(BadRequestError) as refused:
        _directive("?fieldValidation=Strict").check_body(_widgets(store), body, data, "application/json")
    assert refused.value.message == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: duplicate field "spec.size", '
        'unknown field "metadata.zz", unknown field "spec.bar", unknown field "spec.foo"'
    )


def test_warn_is_the_default_and_ignore_says_nothing(store: Store) -> None:
    body: dict[str, Any] = {"spec": {"size": 1, "foo": 1}}
    with warning.collecting() as warned:
        _directive("").check_body(_widgets(store), body, b"{}", "application/json")
        _directive("?fieldValidation=Ignore").check_body(_widgets(store), body, b"{}", "application/json")
    assert warned == ['unknown field "spec.foo"']
    with pytest.raises(InvalidError, match=r'fieldValidation: Unsupported value: "Loud": supported values: "", '):
        _directive("?fieldValidation=Loud")


def test_a_strict_patch_is_a_422_naming_the_patched_object(store: Store) -> None:
    patched: dict[str, Any] = {"spec": {"size": 1, "foo": 1}}
    with pytest.raises(InvalidError) as refused:
        _directive("?fieldValidation=Strict").check_patched(
            _widgets(store), patched, b'{"spec":{"foo":1}}', "application/merge-patch+json"
        )
    assert refused.value.message == (
        ' "" is invalid: patch: Invalid value: "{\\"spec\\":{\\"foo\\":1,\\"size\\":1}}": '
        'strict decoding error: unknown field "spec.foo"'
    )


def test_server_side_apply_refuses_an_unknown_field_whatever_the_directive(store: Store) -> None:
    with pytest.raises(UnclassifiedError) as refused:
        fieldvalidation.check_applied(_widgets(store), {"spec": {"foo": 1}}, name="w", namespace="team")
    assert refused.value.message == (
        "failed to create typed patch object (team/w; example.com/v1, Kind=Widget): "
        ".spec.foo: field not declared in schema"
    )
    assert refused.value.reason == ""


def test_the_store_prunes_validates_and_keeps_status_apart_from_spec(store: Store) -> None:
    widgets = _widgets(store)
    with pytest.raises(InvalidError, match=r'Widget.example.com "w" is invalid: spec.size: Required value'):
        store.create(widgets, {"metadata": {"name": "w"}, "spec": {}}, namespace="team")
    created = store.create(
        widgets, {"metadata": {"name": "w"}, "spec": {"size": 1, "foo": 1}, "status": {"phase": "x"}}, namespace="team"
    )
    assert created["spec"] == {"size": 1}
    assert "status" not in created
    with_status = store.replace(
        widgets, {**created, "status": {"phase": "Ready"}, "spec": {"size": 9}}, subresource="status"
    )
    assert (with_status["spec"], with_status["status"], with_status["metadata"]["generation"]) == (
        {"size": 1},
        {"phase": "Ready"},
        1,
    )
    with pytest.raises(InvalidError, match=r"status.phase: Invalid value"):
        store.replace(widgets, {**with_status, "status": {"phase": 5}}, subresource="status")
    spec_write = store.replace(widgets, {**with_status, "spec": {"size": 2}, "status": {"phase": "Gone"}})
    assert (spec_write["spec"], spec_write["status"], spec_write["metadata"]["generation"]) == (
        {"size": 2},
        {"phase": "Ready"},
        2,
    )


def test_a_default_added_later_shows_on_read(store: Store) -> None:
    widgets = _widgets(store)
    store.create(widgets, {"metadata": {"name": "w"}, "spec": {"size": 1}}, namespace="team")
    crds = store.catalog.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    crd = store.get(crds, None, "widgets.example.com")
    properties = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    properties["mode"] = {"type": "string", "default": "fast"}
    store.replace(crds, crd)
    assert store.get(_widgets(store), "team", "w")["spec"] == {"size": 1, "mode": "fast"}
    assert [item["spec"]["mode"] for item in store.list(_widgets(store), "team", read_only=True)[0]] == ["fast"]
