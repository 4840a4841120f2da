"""x-kubernetes-validations: CEL rules, transition rules and their wording."""

from __future__ import annotations

from typing import Any

from kfval.embedded import warning
from kfval.embedded.admission import cellibrary, celrules
from kfval.embedded.admission.correlation import MISSING


def _schema(*rules: dict[str, Any], spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-validations": list(rules),
                "properties": spec
                or {
                    "replicas": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "queue": {"type": "string"},
                    "name": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "x-y": {"type": "string"},
                },
            }
        },
    }


def _messages(schema: dict[str, Any], spec: Any, old: Any = MISSING) -> list[str]:
    causes = celrules.validate(schema, {"spec": spec}, old=old)
    return [f"{cause.field}: {cause.message}" for cause in causes]


def test_a_failed_rule_without_message_names_the_rule_and_the_schema_type() -> None:
    schema = _schema({"rule": "self.replicas <= self.limit"})
    assert _messages(schema, {"replicas": 1, "limit": 2}) == []
    assert _messages(schema, {"replicas": 3, "limit": 2}) == [
        'spec: Invalid value: "object": failed rule: self.replicas <= self.limit'
    ]


def test_message_message_expression_reason_and_field_path() -> None:
    schema = _schema(
        {
            "rule": "self.replicas <= self.limit",
            "message": "too many",
            "messageExpression": "'replicas ' + string(self.replicas) + ' exceed ' + string(self.limit)",
            "reason": "FieldValueForbidden",
            "fieldPath": ".replicas",
        }
    )
    causes = celrules.validate(schema, {"spec": {"replicas": 3, "limit": 2}})
    assert [(c.reason, c.field, c.message) for c in causes] == [
        ("FieldValueForbidden", "spec.replicas", "Forbidden: replicas 3 exceed 2")
    ]
    required = _schema({"rule": "has(self.name)", "message": "name is needed", "reason": "FieldValueRequired"})
    assert _messages(required, {}) == ["spec: Required value: name is needed"]


def test_common_macros_and_functions() -> None:
    schema = _schema(
        {"rule": "self.tags.all(t, t.matches('^[a-z]+$')) && size(self.tags) <= 2"},
        {"rule": "self.tags.exists(t, t == 'a')"},
        {"rule": "!has(self.name) || self.name.lowerAscii() == self.name"},
        {"rule": "self.x__dash__y.startsWith('v')"},
    )
    assert _messages(schema, {"tags": ["a", "b"], "name": "abc", "x-y": "v1"}) == []
    assert len(_messages(schema, {"tags": ["A", "b", "c"], "name": "Abc", "x-y": "v1"})) == 3


def test_a_rule_that_cannot_run_says_why_as_cel_go_does() -> None:
    schema = _schema({"rule": "self.name == 'x'"})
    assert _messages(schema, {}) == [
        "spec: Invalid value: \"object\": no such key: name evaluating rule: self.name == 'x'"
    ]
    broken = _schema({"rule": "self.name =="})
    assert _messages(broken, {"name": "x"})[0].startswith('spec: Invalid value: "object": rule compile error: ')


def test_a_transition_rule_runs_only_when_there_is_an_old_value() -> None:
    schema = _schema({"rule": "self.queue == oldSelf.queue", "message": "queue is immutable"})
    assert _messages(schema, {"queue": "a"}) == []
    assert _messages(schema, {"queue": "a"}, old={"spec": {"queue": "a"}}) == []
    assert _messages(schema, {"queue": "b"}, old={"spec": {"queue": "a"}}) == [
        'spec: Invalid value: "object": queue is immutable'
    ]


def test_optional_old_self_runs_on_create_with_an_empty_optional() -> None:
    schema = _schema({"rule": "!oldSelf.hasValue() || self.queue == oldSelf.value().queue", "optionalOldSelf": True})
    assert _messages(schema, {"queue": "a"}) == []
    assert _messages(schema, {"queue": "b"}, old={"spec": {"queue": "a"}}) == [
        'spec: Invalid value: "object": failed rule: !oldSelf.hasValue() || self.queue == oldSelf.value().queue'
    ]


def test_a_failure_on_an_unchanged_value_is_ratcheted_to_a_warning() -> None:
    schema = _schema({"rule": "self.replicas <= self.limit"})
    old = {"spec": {"replicas": 3, "limit": 2}}
    with warning.collecting() as warnings:
        assert _messages(schema, {"replicas": 3, "limit": 2}, old=old) == []
    assert warnings == ['spec: Invalid value: "object": failed rule: self.replicas <= self.limit']


def test_values_are_typed_by_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "metadata": {"type": "object"},
            "when": {"type": "string", "format": "date-time"},
            "hidden": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    value = {"metadata": {"name": "w", "labels": {"a": "b"}}, "when": "2024-01-01T00:00:00Z", "hidden": {"x": 1}}
    converted = cellibrary.to_cel(value, schema, resource=True)
    assert dict(converted["metadata"]) == {"name": "w"}
    assert converted["when"].year == 2024
    assert dict(converted["hidden"]) == {}
    assert cellibrary.escape("namespace") == "__namespace__"
    assert cellibrary.escape("a.b") == "a__dot__b"
    assert cellibrary.escape("a b") is None
