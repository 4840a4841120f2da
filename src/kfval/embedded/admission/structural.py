"""A custom resource checked against its CRD's `openAPIV3Schema`, worded as kube-apiserver words it.

kube-apiserver (v1.32) validates custom resources with kube-openapi's schema validator and turns each
result into a field error (apiextensions `kubeOpenAPIResultToFieldErrors`): a missing property is
`spec.selector: Required value`, a wrong type `spec.selector: Invalid value: "string": spec.selector in
body must be of type object: "string"`, a value outside an enum `Unsupported value`, a long string
`Too long`, a long list `Too many`, everything else `Invalid value: <value>: <kube-openapi message>`.
The checks run in kube-openapi's order (type, anyOf/oneOf/allOf/not, string, format, number, array,
enum, object) and with its quirks (a string or a list is not type-checked against a formatted string
schema; an object below minProperties is not looked into). On update, a value equal to its old
value is not checked at all: validation ratcheting (CRDValidationRatcheting) is on in v1.32.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from kfval.embedded.admission import correlation, formats
from kfval.embedded.admission.correlation import MISSING
from kfval.embedded.admission.validation import (
    go_float,
    go_value,
    invalid,
    not_supported,
    required,
    too_long,
    too_many,
    type_invalid,
)
from kfval.embedded.errors import Cause

Schema = Mapping[str, Any]
NO_PATH = "<nil>"
"""How a field error without a path prints (`field.Path(nil).String()`)."""
FLOAT_EPSILON = 1e-9


def validate(schema: Schema, value: Any, *, old: Any = MISSING) -> list[Cause]:
    """Every violation in a custom resource; `old` is the stored object on update (for ratcheting)."""
    return _node(schema, value, "", old)


def child_path(path: str, name: str) -> str:
    """kube-openapi's path of a property: dotted, with no leading dot at the root."""
    return f"{path}.{name}" if path else name


def _field(path: str) -> str:
    return path or NO_PATH


def _node(schema: Schema, value: Any, path: str, old: Any) -> list[Cause]:
    if correlation.unchanged(value, old):
        return []
    causes = _type(schema, value, path)
    if value is None:
        return causes + _enum(schema, value, path)
    causes += _combinations(schema, value, path, old)
    if isinstance(value, str):
        causes += _string(schema, value, path)
    elif _is_number(value):
        causes += _number(schema, value, path)
    elif isinstance(value, list):
        causes += _array(schema, value, path, old)
    causes += _enum(schema, value, path)
    if isinstance(value, dict):
        causes += _object(schema, value, path, old)
    return causes


def _types(schema: Schema) -> list[str]:
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    return [str(schema["type"])] if schema.get("type") else []


def _kind(value: Any) -> tuple[str, str]:
    """The JSON type and Go format kube-openapi infers from a decoded value."""
    if isinstance(value, bool):
        return "boolean", ""
    if isinstance(value, int):
        return "integer", "int64"
    if isinstance(value, float):
        return "number", "float64"
    if isinstance(value, str):
        return "string", ""
    return ("array", "") if isinstance(value, list) else ("object", "")


def _type_error(path: str, expected: str, found: str) -> Cause:
    return type_invalid(_field(path), found, f"{path} in body must be of type {expected}: {go_value(found)}")


def _type(schema: Schema, value: Any, path: str) -> list[Cause]:
    """kube-openapi's typeValidator, quirks included."""
    types = _types(schema)
    wanted_format = formats.supported(schema.get("format"))
    if not types and not wanted_format:
        return []
    if value is None:
        if types and "null" not in types and not schema.get("nullable"):
            return [_type_error(path, ",".join(types), "null")]
        return []
    found, found_format = _kind(value)
    float_int = found == "number" and float(value).is_integer() and "integer" in types
    int_float = found == "integer" and "number" in types
    textual = isinstance(value, str | list)
    matches = found in types or float_int or int_float
    if not textual and wanted_format and not (matches or found_format == wanted_format):
        return [_type_error(path, wanted_format, found_format)]
    if wanted_format and textual and "number" not in types and "integer" not in types:
        return []
    return [] if matches else [_type_error(path, ",".join(types), found)]


def _combinations(schema: Schema, value: Any, path: str, old: Any) -> list[Cause]:
    """anyOf, oneOf, allOf and not: value validations that structural schemas allow."""
    causes: list[Cause] = []
    any_of: list[list[Cause]] = [_node(branch, value, path, old) for branch in schema.get("anyOf") or []]
    if any_of and all(any_of):
        causes.append(invalid(NO_PATH, "", f'"{path}" must validate at least one schema (anyOf)'))
        causes += _best_failure(any_of)
    one_of: list[list[Cause]] = [_node(branch, value, path, old) for branch in schema.get("oneOf") or []]
    valid = sum(1 for result in one_of if not result)
    if one_of and valid != 1:
        found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
        causes.append(invalid(NO_PATH, "", f'"{path}" must validate one and only one schema (oneOf). {found}'))
        causes += _best_failure(one_of) if valid == 0 else []
    all_of: list[list[Cause]] = [_node(branch, value, path, old) for branch in schema.get("allOf") or []]
    for result in all_of:
        causes += result
    failed = sum(1 for result in all_of if result)
    if failed:
        none = ". None validated" if failed == len(all_of) else ""
        causes.append(invalid(NO_PATH, "", f'"{path}" must validate all the schemas (allOf){none}'))
    if isinstance(schema.get("not"), Mapping) and not _node(schema["not"], value, path, old):
        causes.append(invalid(NO_PATH, "", f'"{path}" must not validate the schema (not)'))
    return causes


def _best_failure(results: list[list[Cause]]) -> list[Cause]:
    """The failed branch kube-openapi reports: the one that came closest (fewest errors, first on a tie)."""
    best: list[Cause] = min(results, key=len)
    return best


def _string(schema: Schema, value: str, path: str) -> list[Cause]:
    """maxLength, minLength and pattern (the first that fails), then the format."""
    causes: list[Cause] = []
    longest, shortest, pattern = schema.get("maxLength"), schema.get("minLength"), schema.get("pattern")
    if longest is not None and len(value) > longest:
        causes.append(too_long(_field(path), int(longest)))
    elif shortest is not None and len(value) < shortest:
        causes.append(invalid(_field(path), value, f"{path} in body should be at least {shortest} chars long"))
    elif pattern and not _matches(str(pattern), value):
        causes.append(invalid(_field(path), value, f"{path} in body should match '{pattern}'"))
    wanted_format = formats.supported(schema.get("format"))
    if wanted_format and not formats.conforms(wanted_format, value):
        detail = f"{path} in body must be of type {wanted_format}: {go_value(value)}"
        causes.append(type_invalid(_field(path), value, detail))
    return causes


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def _bound(value: float, bound: Any) -> tuple[float, str]:
    """The bound as kube-openapi compares it: truncated to an integer for integer values."""
    if isinstance(value, int):
        return int(bound), str(int(bound))
    return float(bound), go_float(float(bound))


def _number(schema: Schema, value: float, path: str) -> list[Cause]:
    causes: list[Cause] = []
    factor = schema.get("multipleOf")
    if factor is not None:
        whole, shown = _bound(value, factor)
        if isinstance(value, int) and whole:
            multiple = value % int(whole) == 0
        else:
            quotient = value * (1 / float(factor)) if float(factor) < 1 else value / float(factor)
            multiple = math.isclose(quotient, round(quotient), rel_tol=FLOAT_EPSILON, abs_tol=FLOAT_EPSILON)
        if not multiple:
            causes.append(invalid(_field(path), value, f"{path} in body should be a multiple of {shown}"))
    if schema.get("minimum") is not None:
        low, shown = _bound(value, schema["minimum"])
        exclusive = bool(schema.get("exclusiveMinimum"))
        if value < low or (exclusive and value == low):
            words = "greater than" if exclusive else "greater than or equal to"
            causes.append(invalid(_field(path), value, f"{path} in body should be {words} {shown}"))
    if schema.get("maximum") is not None:
        high, shown = _bound(value, schema["maximum"])
        exclusive = bool(schema.get("exclusiveMaximum"))
        if value > high or (exclusive and value == high):
            words = "less than" if exclusive else "less than or equal to"
            causes.append(invalid(_field(path), value, f"{path} in body should be {words} {shown}"))
    return causes


def _array(schema: Schema, value: list[Any], path: str, old: Any) -> list[Cause]:
    causes: list[Cause] = []
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            causes += _node(items, item, f"{path}[{index}]", correlation.item(schema, old, item))
    if schema.get("minItems") is not None and len(value) < schema["minItems"]:
        detail = f"{path} in body should have at least {schema['minItems']} items"
        causes.append(invalid(_field(path), len(value), detail))
    if schema.get("maxItems") is not None and len(value) > schema["maxItems"]:
        causes.append(too_many(_field(path), len(value), int(schema["maxItems"])))
    return causes


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _enum_member(value: Any, member: Any) -> bool:
    if _is_number(value) and _is_number(member):
        return float(value) == float(member)
    return correlation.same(value, member)


def _enum(schema: Schema, value: Any, path: str) -> list[Cause]:
    members = schema.get("enum") or []
    if not members or any(_enum_member(value, member) for member in members):
        return []
    supported = [member if isinstance(member, str) else _json(member) for member in members]
    return [not_supported(_field(path), value, supported)]


def _json(member: Any) -> str:
    """A non-string enum member as the supported-values list shows it (`json.Marshal`)."""
    if isinstance(member, float) and member.is_integer():
        return str(int(member))
    return json.dumps(member, separators=(",", ":"), sort_keys=True)


def _object(schema: Schema, value: dict[str, Any], path: str, old: Any) -> list[Cause]:
    count = len(value)
    if schema.get("minProperties") is not None and count < schema["minProperties"]:
        detail = f"{path} in body should have at least {schema['minProperties']} properties"
        return [invalid(_field(path), count, detail)]
    if schema.get("maxProperties") is not None and count > schema["maxProperties"]:
        return [too_many(_field(path), count, int(schema["maxProperties"]))]
    causes: list[Cause] = []
    properties: Mapping[str, Any] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        for key in sorted(set(value) - set(properties)):
            causes += _node(extra, value[key], f"{path}.{key}", correlation.member(old, key))
    for name in sorted(set(value) & set(properties)):
        causes += _node(properties[name], value[name], child_path(path, name), correlation.member(old, name))
    causes += [required(child_path(path, name)) for name in schema.get("required") or [] if name not in value]
    return causes
