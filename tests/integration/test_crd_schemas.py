"""Custom resources held to their CRD's schema, as kubectl and the Python client see a real API server do it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient, CustomObjectsApi
from kubernetes.client.exceptions import ApiException

from tests.integration.conftest import Kubectl

pytestmark = pytest.mark.integration

GROUP, VERSION = "example.com", "v1"
SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["size", "color"],
    "x-kubernetes-validations": [
        {"rule": "self.size <= self.limit", "message": "size must not exceed limit"},
        {"rule": "self.color == oldSelf.color", "message": "color is immutable"},
    ],
    "properties": {
        "size": {"type": "integer", "minimum": 1},
        "limit": {"type": "integer", "default": 10},
        "color": {"type": "string", "enum": ["red", "green", "blue"]},
        "name": {"type": "string", "pattern": "^[a-z]+$"},
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}


def _crd(plural: str, kind: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": SPEC_SCHEMA,
                                "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                            },
                        }
                    },
                }
            ],
        },
    }


def _install(kubectl: Kubectl, crd: dict[str, Any]) -> Iterator[None]:
    kubectl.run("apply", "-f", "-", stdin=json.dumps(crd))
    kubectl.run("wait", "--for=condition=Established", f"crd/{crd['metadata']['name']}")
    yield
    kubectl.run("delete", "crd", crd["metadata"]["name"], "--wait=false", check=False)


@pytest.fixture
def widgets(kubectl: Kubectl) -> Iterator[None]:
    yield from _install(kubectl, _crd("widgets", "Widget"))


def _widget(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as refused:
        call()
    body: dict[str, Any] = json.loads(refused.value.body)
    return body


@pytest.mark.usefixtures("widgets")
def test_the_python_client_gets_the_api_servers_wording(api: ApiClient, ns: str) -> None:
    objects = CustomObjectsApi(api)

    def create(spec: dict[str, Any]) -> Any:
        return lambda: objects.create_namespaced_custom_object(GROUP, VERSION, ns, "widgets", _widget("w", ns, spec))

    missing = _refusal(create({"size": 1}))
    assert (missing["code"], missing["reason"]) == (422, "Invalid")
    assert missing["message"].startswith('Widget.example.com "w" is invalid: [spec.color: Required value, <nil>: ')
    assert missing["details"]["causes"][0] == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.color",
    }
    wrong = _refusal(create({"size": "big", "color": "red"}))
    assert wrong["details"]["causes"][0] == {
        "reason": "FieldValueTypeInvalid",
        "message": 'Invalid value: "string": spec.size in body must be of type integer: "string"',
        "field": "spec.size",
    }
    enum = _refusal(create({"size": 1, "color": "pink"}))
    assert (
        enum["details"]["causes"][0]["message"] == 'Unsupported value: "pink": supported values: "red", "green", "blue"'
    )


@pytest.mark.usefixtures("widgets")
def test_unknown_fields_are_pruned_and_defaults_applied_for_the_python_client(api: ApiClient, ns: str) -> None:
    objects = CustomObjectsApi(api)
    spec = {"size": 1, "color": "red", "foo": 1, "extra": {"kept": {"deep": 1}}}
    objects.create_namespaced_custom_object(GROUP, VERSION, ns, "widgets", _widget("w", ns, spec))
    stored = objects.get_namespaced_custom_object(GROUP, VERSION, ns, "widgets", "w")
    assert stored["spec"] == {"size": 1, "color": "red", "limit": 10, "extra": {"kept": {"deep": 1}}}


@pytest.mark.usefixtures("widgets")
def test_kubectl_apply_validates_strictly_by_default(kubectl: Kubectl, namespace: str) -> None:
    manifest = yaml.safe_dump(_widget("w", namespace, {"size": 1, "color": "red", "foo": 1}))
    strict = kubectl.run("apply", "-f", "-", stdin=manifest, check=False)
    assert strict.returncode != 0
    assert (
        'Error from server (BadRequest): error when creating "STDIN": Widget in version "v1" cannot be handled as a '
        'Widget: strict decoding error: unknown field "spec.foo"'
    ) in strict.stderr
    warned = kubectl.run("apply", "--validate=warn", "-f", "-", stdin=manifest)
    assert 'Warning: unknown field "spec.foo"' in warned.stderr
    kubectl.run("delete", "widget", "w", "-n", namespace)
    silent = kubectl.run("apply", "--validate=false", "-f", "-", stdin=manifest)
    assert "Warning" not in silent.stderr
    stored = kubectl.run("get", "widget", "w", "-n", namespace, "-o", "jsonpath={.spec}").stdout
    assert json.loads(stored) == {"size": 1, "color": "red", "limit": 10}


@pytest.mark.usefixtures("widgets")
def test_kubectl_prints_schema_and_rule_refusals(kubectl: Kubectl, namespace: str) -> None:
    missing = kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(_widget("w", namespace, {"size": 1})), check=False)
    expected = (
        'The Widget "w" is invalid: \n* spec.color: Required value\n'
        '* <nil>: Invalid value: "null": some validation rules were not checked'
    )
    assert expected in missing.stderr
    wrong = kubectl.run(
        "apply",
        "-f",
        "-",
        stdin=yaml.safe_dump(_widget("w", namespace, {"size": 1, "color": "red", "name": 7})),
        check=False,
    )
    assert 'spec.name: Invalid value: "integer": spec.name in body must be of type string: "integer"' in wrong.stderr
    rule = kubectl.run(
        "apply", "-f", "-", stdin=yaml.safe_dump(_widget("w", namespace, {"size": 20, "color": "red"})), check=False
    )
    assert 'The Widget "w" is invalid: spec: Invalid value: "object": size must not exceed limit' in rule.stderr


@pytest.mark.usefixtures("widgets")
def test_a_transition_rule_refuses_a_change_only_on_update(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(_widget("w", namespace, {"size": 1, "color": "red"})))
    changed = kubectl.run(
        "patch", "widget", "w", "-n", namespace, "--type=merge", "-p", '{"spec":{"color":"blue"}}', check=False
    )
    assert changed.returncode != 0
    assert 'The Widget "w" is invalid: spec: Invalid value: "object": color is immutable' in changed.stderr
    kubectl.run("patch", "widget", "w", "-n", namespace, "--type=merge", "-p", '{"spec":{"size":2}}')


@pytest.mark.usefixtures("widgets")
def test_status_and_spec_are_written_apart(api: ApiClient, ns: str) -> None:
    objects = CustomObjectsApi(api)
    objects.create_namespaced_custom_object(
        GROUP, VERSION, ns, "widgets", {**_widget("w", ns, {"size": 1, "color": "red"}), "status": {"phase": "Sneaky"}}
    )
    created = objects.get_namespaced_custom_object(GROUP, VERSION, ns, "widgets", "w")
    assert "status" not in created
    after_status = objects.patch_namespaced_custom_object_status(
        GROUP, VERSION, ns, "widgets", "w", {"status": {"phase": "Ready"}, "spec": {"size": 5}}
    )
    assert (after_status["spec"]["size"], after_status["status"], after_status["metadata"]["generation"]) == (
        1,
        {"phase": "Ready"},
        1,
    )
    after_spec = objects.patch_namespaced_custom_object(
        GROUP, VERSION, ns, "widgets", "w", {"status": {"phase": "Gone"}, "spec": {"size": 2}}
    )
    assert (after_spec["spec"]["size"], after_spec["status"], after_spec["metadata"]["generation"]) == (
        2,
        {"phase": "Ready"},
        2,
    )
    bad_status = _refusal(
        lambda: objects.patch_namespaced_custom_object_status(
            GROUP, VERSION, ns, "widgets", "w", {"status": {"phase": 3}}
        )
    )
    assert bad_status["details"]["causes"][0]["field"] == "status.phase"


def test_a_default_added_to_the_crd_shows_on_objects_stored_before(kubectl: Kubectl, namespace: str) -> None:
    crd = _crd("gadgets", "Gadget")
    installed = _install(kubectl, crd)
    next(installed)
    try:
        gadget = {**_widget("g", namespace, {"size": 1, "color": "red"}), "kind": "Gadget"}
        kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(gadget))
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = {
            **SPEC_SCHEMA,
            "properties": {**SPEC_SCHEMA["properties"], "mode": {"type": "string", "default": "fast"}},
        }
        kubectl.run("apply", "-f", "-", stdin=json.dumps(crd))
        read = kubectl.run("get", "gadget", "g", "-n", namespace, "-o", "jsonpath={.spec.mode}")
        assert read.stdout == "fast"
    finally:
        next(installed, None)
