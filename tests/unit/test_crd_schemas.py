"""A custom resource against its CRD's schema: validation worded as kube-apiserver words it, pruning, defaults."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kfval.embedded.admission import customresources, defaulting, extensions, formats, pruning, structural
from kfval.embedded.admission.correlation import MISSING
from kfval.embedded.errors import Cause
from kfval.embedded.types import ResourceType

SPEC: dict[str, Any] = {
    "type": "object",
    "required": ["selector"],
    "properties": {
        "selector": {"type": "object", "properties": {"app": {"type": "string"}}},
        "containers": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "object"}},
        "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "multipleOf": 1},
        "ratio": {"type": "number", "exclusiveMaximum": True, "maximum": 1.5},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
        "short": {"type": "string", "minLength": 2},
        "when": {"type": "string", "format": "date-time"},
        "id": {"type": "string", "format": "uuid"},
        "size": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "note": {"type": "string", "nullable": True},
        "count": {"type": "integer", "format": "int32"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": SPEC,
    },
}


def _messages(causes: list[Cause]) -> list[str]:
    return [f"{cause.field}: {cause.message}" for cause in causes]


def _check(spec: dict[str, Any], old: Any = MISSING) -> list[str]:
    return _messages(structural.validate(SCHEMA, {"spec": spec}, old=old))


def test_a_missing_required_property_is_a_required_value() -> None:
    causes = structural.validate(SCHEMA, {"spec": {}})
    assert _messages(causes) == ["spec.selector: Required value"]
    assert causes[0].reason == "FieldValueRequired"


def test_a_wrong_type_names_the_type_it_found() -> None:
    causes = structural.validate(SCHEMA, {"spec": {"selector": "notamap"}})
    assert _messages(causes) == [
        'spec.selector: Invalid value: "string": spec.selector in body must be of type object: "string"'
    ]
    assert causes[0].reason == "FieldValueTypeInvalid"


def test_list_bounds_enum_pattern_and_numbers_use_kube_openapi_wording() -> None:
    assert _check({"selector": {}, "containers": []}) == [
        "spec.containers: Invalid value: 0: spec.containers in body should have at least 1 items"
    ]
    assert _check({"selector": {}, "containers": [{}, {}, {}]}) == [
        "spec.containers: Too many: 3: must have at most 2 items"
    ]
    assert _check({"selector": {}, "mode": "x"}) == ['spec.mode: Unsupported value: "x": supported values: "a", "b"']
    assert _check({"selector": {}, "name": "ABC"}) == [
        "spec.name: Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'"
    ]
    assert _check({"selector": {}, "name": "abcdefg"}) == ["spec.name: Too long: may not be more than 5 bytes"]
    assert _check({"selector": {}, "short": "a"}) == [
        'spec.short: Invalid value: "a": spec.short in body should be at least 2 chars long'
    ]
    assert _check({"selector": {}, "replicas": 0}) == [
        "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"
    ]
    assert _check({"selector": {}, "replicas": 11}) == [
        "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"
    ]
    assert _check({"selector": {}, "ratio": 1.5}) == [
        "spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1.5"
    ]
    assert _check({"selector": {}, "labels": {"a": "1", "b": "2"}}) == [
        "spec.labels: Too many: 2: must have at most 1 items"
    ]


def test_formats_apiextensions_keeps_are_checked_and_numeric_ones_are_not() -> None:
    assert _check({"selector": {}, "when": "yesterday"}) == [
        'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"'
    ]
    assert _check({"selector": {}, "when": "2024-05-01T10:00:00Z", "id": "0f8fad5b-d9cb-469f-a165-70867728950e"}) == []
    assert _check({"selector": {}, "id": "nope"}) == [
        'spec.id: Invalid value: "nope": spec.id in body must be of type uuid: "nope"'
    ]
    assert _check({"selector": {}, "count": 2**40}) == []
    assert formats.supported("int32") == ""
    assert formats.conforms("byte", "aGVsbG8=") and not formats.conforms("byte", "not base64!")


def test_int_or_string_nullable_and_preserved_fields() -> None:
    assert _check({"selector": {}, "size": 3, "note": None, "free": {"any": {"thing": 1}}}) == []
    assert _check({"selector": {}, "size": "25%"}) == []
    assert _check({"selector": {}, "size": True})[0] == (
        'spec.size: Invalid value: "boolean": spec.size in body must be of type integer,string: "boolean"'
    )


def test_an_unchanged_invalid_value_is_ratcheted_on_update() -> None:
    old = {"spec": {"selector": {}, "name": "ABC"}}
    assert _check({"selector": {}, "name": "ABC", "mode": "a"}, old=old) == []
    assert _check({"selector": {}, "name": "XYZ"}, old=old) == [
        "spec.name: Invalid value: \"XYZ\": spec.name in body should match '^[a-z]+$'"
    ]


def test_pruning_drops_unknown_fields_and_reports_their_paths() -> None:
    body = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "bogus": 1},
        "spec": {"selector": {"app": "x", "extra": 1}, "foo": 1, "free": {"kept": 1}, "containers": [{"a": 1}]},
        "status": {"phase": "x"},
    }
    assert pruning.prune_resource(SCHEMA, body) == [
        "metadata.bogus",
        "spec.containers[0].a",
        "spec.foo",
        "spec.selector.extra",
        "status",
    ]
    assert body["spec"] == {"selector": {"app": "x"}, "free": {"kept": 1}, "containers": [{}]}
    assert body["metadata"] == {"name": "w"}


def test_non_nullable_nulls_without_defaults_are_dropped() -> None:
    body = {"spec": {"selector": None, "note": None}}
    pruning.prune_resource(SCHEMA, body)
    assert body == {"spec": {"note": None}}


def test_metadata_that_is_no_object_meta_is_worded_as_go_json_words_it() -> None:
    assert pruning.object_meta_error({"labels": "x"}) == (
        "json: cannot unmarshal string into Go struct field ObjectMeta.labels of type map[string]string"
    )
    assert pruning.object_meta_error({"labels": {"a": 1}}) == (
        "json: cannot unmarshal number into Go struct field ObjectMeta.labels of type string"
    )
    assert pruning.object_meta_error({"name": "ok", "finalizers": ["a"]}) is None


def test_defaults_fill_missing_properties_and_disallowed_nulls() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "mode": {"type": "string", "default": "fast"},
                    "ports": {"type": "array", "items": {"type": "integer", "default": 80}},
                    "policy": {"type": "object", "default": {"kind": "x"}, "properties": {"kind": {"type": "string"}}},
                },
            }
        },
    }
    body: dict[str, Any] = {"spec": {"mode": None, "ports": [None, 1]}}
    defaulting.apply_resource_defaults(schema, body)
    assert body == {"spec": {"mode": "fast", "ports": [80, 1], "policy": {"kind": "x"}}}
    empty: dict[str, Any] = {}
    defaulting.apply_resource_defaults(schema, empty)
    assert empty == {}


def test_list_type_set_and_map_refuse_duplicates() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "ports": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        },
    }
    body = {"tags": ["a", "b", "a"], "ports": [{"name": "http"}, {"name": "http"}]}
    assert _messages(extensions.list_types(schema, body)) == [
        'ports[1]: Duplicate value: map[string]interface {}{"name":"http"}',
        'tags[2]: Duplicate value: "a"',
    ]


def test_embedded_resources_need_api_version_kind_and_valid_metadata() -> None:
    schema = {
        "type": "object",
        "properties": {
            "template": {
                "type": "object",
                "x-kubernetes-embedded-resource": True,
                "x-kubernetes-preserve-unknown-fields": True,
            }
        },
    }
    body = {"template": {"metadata": {"name": "Bad_Name", "extra": 1}}}
    assert pruning.prune_resource(schema, copy.deepcopy(body)) == ["template.metadata.extra"]
    messages = _messages(extensions.embedded_resources(schema, body))
    assert messages[:2] == [
        "template.apiVersion: Required value: must not be empty",
        "template.kind: Required value: must not be empty",
    ]
    assert messages[2].startswith('template.metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("date", "2024-02-29", "2023-02-29"),
        ("duration", "1h30m", "soon"),
        ("ipv4", "10.0.0.1", "10.0.0.256"),
        ("cidr", "10.0.0.0/8", "10.0.0.0"),
        ("mac", "01:23:45:67:89:ab", "01:23:45"),
        ("hostname", "example.com", "-bad-"),
        ("email", "a@example.com", "nope"),
    ],
)
def test_each_kept_format_tells_good_from_bad(name: str, good: str, bad: str) -> None:
    assert formats.conforms(name, good)
    assert not formats.conforms(name, bad)


def test_rules_wait_for_blocking_errors_only_where_the_schema_has_rules() -> None:
    def kind(schema: dict[str, Any]) -> ResourceType:
        return ResourceType("example.com", "v1", "widgets", "Widget", True, "widget", schema=schema)

    ruled = copy.deepcopy(SCHEMA)
    ruled["properties"]["spec"]["x-kubernetes-validations"] = [{"rule": "has(self.mode)"}]
    assert _messages(customresources.validate(kind(ruled), {"spec": {}}, old=None, earlier=[])) == [
        "spec.selector: Required value",
        '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; '
        "correct the existing errors to complete validation",
    ]
    assert _messages(customresources.validate(kind(SCHEMA), {"spec": {}}, old=None, earlier=[])) == [
        "spec.selector: Required value"
    ]
    assert _messages(customresources.validate(kind(ruled), {"spec": {"selector": {}}}, old=None, earlier=[])) == [
        'spec: Invalid value: "object": failed rule: has(self.mode)'
    ]
