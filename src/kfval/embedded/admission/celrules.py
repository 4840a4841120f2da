"""`x-kubernetes-validations`: the CEL rules a CRD's schema attaches to its values.

kube-apiserver (v1.32, apiextensions apiserver/schema/cel) evaluates each rule with `self` bound to
the value at the rule's place, node before children, and skips null values. A rule that uses
`oldSelf` is a transition rule: it runs only on update where the value has a correlated old value,
unless `optionalOldSelf` makes `oldSelf` an optional that is empty on create. A rule that is not
true is a field error at the rule's place (plus its `fieldPath`), of the rule's `reason`
(FieldValueInvalid by default), with `messageExpression`'s result, else `message`, else `failed
rule: <rule>`; the Invalid value shown is the schema's type: `spec: Invalid value: "object": failed
rule: self.a > 0`. A rule that fails to evaluate is `<error> evaluating rule: <rule>`. On update, a
rule without `oldSelf` that fails on a value the update left unchanged is ratcheted: the error
becomes a warning to the client.

cel-python (`celpy`, pure Python, RE2 regular expressions as cel-go) evaluates the rules; compiled
programs are cached by rule text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celparser, celtypes, evaluation

from kfval.embedded import warning
from kfval.embedded.admission import cellibrary, correlation, validation
from kfval.embedded.admission.correlation import MISSING
from kfval.embedded.admission.structural import NO_PATH
from kfval.embedded.errors import Cause

Schema = Mapping[str, Any]
_STRING_LITERAL = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")
_OLD_SELF = re.compile(r"\boldSelf\b")
_EVALUATION_ERRORS = (
    ("no such member in mapping: ", "no such key: "),
    ("found no matching overload", "no such overload"),
    ("modulus or divide by zero", "division by zero"),
    ("return error for overflow", "integer overflow"),
    ("invalid_argument", "index out of bounds"),
)
"""cel-python's wording of runtime errors, and cel-go's, which kube-apiserver reports."""


@dataclass(frozen=True)
class Compiled:
    """One rule, ready to run: its program, or why it did not compile."""

    program: celpy.Runner | None
    error: str
    uses_old_self: bool


@functools.cache
def _environment() -> celpy.Environment:
    """Made at the first rule: building its parser is a third of a second of the embedded cluster's start."""
    return celpy.Environment()


@functools.lru_cache(maxsize=1024)
def compile_rule(rule: str) -> Compiled:
    uses_old_self = bool(_OLD_SELF.search(_STRING_LITERAL.sub("", rule)))
    environment = _environment()
    try:
        program = environment.program(environment.compile(rule), functions=cellibrary.FUNCTIONS)
    except celparser.CELParseError as error:
        return Compiled(None, " ".join(str(error).split()), uses_old_self)
    return Compiled(program, "", uses_old_self)


def has_rules(schema: Any) -> bool:
    """Whether any part of a schema carries rules (kube-apiserver builds no CEL validator otherwise)."""
    if isinstance(schema, Mapping):
        return bool(schema.get("x-kubernetes-validations")) or any(has_rules(sub) for sub in schema.values())
    if isinstance(schema, list):
        return any(has_rules(sub) for sub in schema)
    return False


def validate(schema: Schema, value: Any, *, old: Any = MISSING) -> list[Cause]:
    """Every failed rule in a custom resource; `old` is the stored object on update."""
    return _node(schema, value, old, "", resource=True)


def _node(schema: Schema, value: Any, old: Any, path: str, *, resource: bool = False) -> list[Cause]:
    if value is None:
        return []
    causes: list[Cause] = []
    for rule in schema.get("x-kubernetes-validations") or []:
        causes += _check(rule, schema, value, old, path, resource=resource)
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key in sorted(value):
            if key in properties:
                where = f"{path}.{key}" if path else key
                causes += _node(properties[key], value[key], correlation.member(old, key), where)
            elif isinstance(extra, Mapping):
                causes += _node(extra, value[key], correlation.member(old, key), f"{path}[{key}]")
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            causes += _node(schema["items"], item, correlation.item(schema, old, item), f"{path}[{index}]")
    return causes


def _check(rule: Mapping[str, Any], schema: Schema, value: Any, old: Any, path: str, *, resource: bool) -> list[Cause]:
    text = str(rule.get("rule") or "")
    compiled = compile_rule(text)
    shown = str(schema.get("type") or "")
    where = path or NO_PATH
    if compiled.program is None:
        return [validation.invalid(where, shown, f"rule compile error: {compiled.error}")]
    optional = bool(rule.get("optionalOldSelf"))
    if compiled.uses_old_self and old is MISSING and not optional:
        return []
    activation = {"self": cellibrary.to_cel(value, schema, resource=resource)}
    if compiled.uses_old_self:
        old_value = cellibrary.to_cel(old, schema, resource=resource) if old is not MISSING else None
        activation["oldSelf"] = cellibrary.Optional(old_value, present=old is not MISSING) if optional else old_value
    try:
        result = compiled.program.evaluate(activation)
    except evaluation.CELEvalError as error:
        return [validation.invalid(where, shown, _evaluation_failure(error, _rule_text(rule)))]
    if isinstance(result, celtypes.BoolType) and bool(result):
        return []
    target = _with_field_path(path, str(rule.get("fieldPath") or ""))
    cause = _failure(rule, target or NO_PATH, shown, _message(rule, compiled, activation))
    if not compiled.uses_old_self and correlation.unchanged(value, old):
        warning.add(f"{cause.field}: {cause.message}")
        return []
    return [cause]


def _rule_text(rule: Mapping[str, Any]) -> str:
    """How an error names the rule: its message when it has one, else its expression."""
    return str(rule.get("message") or "").strip() or str(rule.get("rule") or "").strip()


def _evaluation_failure(error: evaluation.CELEvalError, rule: str) -> str:
    text = str(error.args[0]) if error.args else str(error)
    for theirs, ours in _EVALUATION_ERRORS:
        if text.startswith(theirs):
            text = ours + text[len(theirs) :].strip("'") if ours.endswith(": ") else ours
            break
    if text.startswith("no such overload"):
        return (
            f"'{text}': call arguments did not match a supported operator, function or macro signature for rule: {rule}"
        )
    return f"{text} evaluating rule: {rule}"


def _message(rule: Mapping[str, Any], compiled: Compiled, activation: dict[str, Any]) -> str:
    """messageExpression's string when it yields a usable one, else the message, else `failed rule: ...`."""
    expression = str(rule.get("messageExpression") or "")
    if expression:
        program = compile_rule(expression).program
        try:
            result = program.evaluate(activation) if program is not None else None
        except evaluation.CELEvalError:
            result = None
        if isinstance(result, str) and result.strip() and "\n" not in result:
            return result
    message = str(rule.get("message") or "").strip()
    return message or f"failed rule: {_rule_text(rule)}"


def _failure(rule: Mapping[str, Any], path: str, shown: str, detail: str) -> Cause:
    reason = rule.get("reason") or "FieldValueInvalid"
    if reason == "FieldValueForbidden":
        return validation.forbidden(path, detail)
    if reason == "FieldValueRequired":
        return validation.required(path, detail)
    if reason == "FieldValueDuplicate":
        return validation.duplicate(path, shown)
    return validation.invalid(path, shown, detail)


def _with_field_path(path: str, field_path: str) -> str:
    """The rule's place plus its `fieldPath` (`.spec.replicas`, `.labels['a']` as `labels[a]`)."""
    relative = re.sub(r"\['([^']*)'\]", r"[\1]", field_path).lstrip(".")
    if not relative:
        return path
    return f"{path}.{relative}" if path else relative
