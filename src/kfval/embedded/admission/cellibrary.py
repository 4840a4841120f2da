"""What a CRD validation rule sees: CEL values built from a custom resource, and Kubernetes' CEL library.

kube-apiserver (v1.32) binds `self` (and `oldSelf`) to the value at the rule's place in the schema,
typed by the schema: only declared properties are visible (names escaped: `x-y` is `x__dash__y`),
`metadata` at the root and in embedded resources shows only `name` and `generateName`, a `date-time`
string is a timestamp, a `duration` string a duration, a `byte` string bytes. cel-python evaluates
the standard language; the Kubernetes extension functions CRDs commonly call (the strings and lists
libraries, optional values for `optionalOldSelf`, numeric comparisons across int and double) are
added here as cel-python functions, which return a failure as a CELEvalError value (so that `||` and
`&&` can still short-circuit past it, as CEL's commutative logic operators do).
"""

from __future__ import annotations

import base64
import itertools
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from celpy import celtypes, evaluation

from kfval.embedded.admission import formats

Schema = Mapping[str, Any]
CEL_KEYWORDS = frozenset(
    word
    for words in (
        "true false null in as break const continue else for function if import",
        "let loop package namespace return var void while",
    )
    for word in words.split()
)
_ESCAPED = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_EXPANDED = re.compile(r"(__|[-./]|[^a-zA-Z0-9\-./_])")
_ROOT_METADATA = ("name", "generateName")


def escape(name: str) -> str | None:
    """A property's name in CEL, or None when CEL cannot reach it (apiserver/schema/cel escaping)."""
    if not name or name[0].isdigit():
        return None
    if name in CEL_KEYWORDS:
        return f"__{name}__"
    if any(match not in _ESCAPED for match in _EXPANDED.findall(name)):
        return None
    return _EXPANDED.sub(lambda match: _ESCAPED[match[0]], name)


def to_cel(value: Any, schema: Schema, *, resource: bool = False) -> Any:
    """A JSON value as a CEL value of its schema's type; `resource` for the root or an embedded resource."""
    if value is None:
        return None
    if isinstance(value, dict):
        return _object(value, schema, resource=resource or bool(schema.get("x-kubernetes-embedded-resource")))
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
        return celtypes.ListType([to_cel(item, items or {}) for item in value])
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    return _string(str(value), schema)


def _object(value: dict[str, Any], schema: Schema, *, resource: bool) -> celtypes.MapType:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    result = celtypes.MapType()
    for key, item in value.items():
        if resource and key in ("apiVersion", "kind"):
            result[celtypes.StringType(key)] = celtypes.StringType(str(item))
        elif resource and key == "metadata" and isinstance(item, dict):
            shown = {
                celtypes.StringType(name): celtypes.StringType(str(item[name]))
                for name in _ROOT_METADATA
                if name in item
            }
            result[celtypes.StringType(key)] = celtypes.MapType(shown)
        elif key in properties:
            name = escape(key)
            if name is not None:
                result[celtypes.StringType(name)] = to_cel(item, properties[key])
        elif isinstance(extra, Mapping):
            result[celtypes.StringType(key)] = to_cel(item, extra)
    return result


def _string(text: str, schema: Schema) -> Any:
    wanted = formats.supported(schema.get("format")).replace("-", "")
    try:
        if wanted == "datetime":
            return celtypes.TimestampType(text)
        if wanted == "duration":
            return celtypes.DurationType(text)
        if wanted == "byte":
            return celtypes.BytesType(base64.b64decode(text))
    except (ValueError, TypeError):
        return celtypes.StringType(text)
    return celtypes.StringType(text)


class Optional:
    """A CEL optional value (`optionalOldSelf` binds `oldSelf` to one): `hasValue()`, `value()`, `orValue()`."""

    def __init__(self, value: Any = None, *, present: bool = False) -> None:
        self.present = present
        self.held = value


def _has_value(optional: Any) -> celtypes.BoolType:
    return celtypes.BoolType(isinstance(optional, Optional) and optional.present)


def _value(optional: Any) -> Any:
    if not isinstance(optional, Optional) or not optional.present:
        return evaluation.CELEvalError("optional.none() dereference")
    return optional.held


def _or_value(optional: Any, default: Any) -> Any:
    return optional.held if isinstance(optional, Optional) and optional.present else default


def _numeric(name: str, compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    """An ordering that also compares an int with a double, as Kubernetes' CEL environment allows."""
    base = evaluation.base_functions[name]
    numbers = (celtypes.IntType, celtypes.UintType, celtypes.DoubleType)

    def ordering(left: Any, right: Any) -> Any:
        if isinstance(left, numbers) and isinstance(right, numbers) and type(left) is not type(right):
            return celtypes.BoolType(compare(float(left), float(right)))
        return base(left, right)

    return ordering


def _index_of(container: Any, wanted: Any, *, last: bool = False) -> celtypes.IntType:
    if isinstance(container, str):
        return celtypes.IntType(container.rfind(wanted) if last else container.find(wanted))
    positions = [index for index, item in enumerate(container) if item == wanted]
    return celtypes.IntType((positions[-1] if last else positions[0]) if positions else -1)


def _substring(text: str, start: int, end: int | None = None) -> Any:
    if start < 0 or start > len(text) or (end is not None and (end < start or end > len(text))):
        return evaluation.CELEvalError(f"index out of range: {end if end is not None else start}")
    return celtypes.StringType(text[start:end])


def _split(text: str, separator: str, limit: int = -1) -> celtypes.ListType:
    parts = text.split(separator) if limit < 0 else text.split(separator, max(limit - 1, 0)) if limit else []
    return celtypes.ListType([celtypes.StringType(part) for part in parts])


def _join(items: list[Any], separator: str = "") -> celtypes.StringType:
    return celtypes.StringType(separator.join(str(item) for item in items))


def _is_sorted(items: list[Any]) -> celtypes.BoolType:
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(items)))


def _extreme(pick: Callable[..., Any]) -> Callable[[list[Any]], Any]:
    def extreme(items: list[Any]) -> Any:
        if not items:
            return evaluation.CELEvalError("no such overload")
        return pick(items)

    return extreme


def _sum(items: list[Any]) -> Any:
    total: Any = celtypes.IntType(0) if not items or isinstance(items[0], celtypes.IntType) else items[0] * 0
    for item in items:
        total = total + item
    return total


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "_<_": _numeric("_<_", operator.lt),
    "_<=_": _numeric("_<=_", operator.le),
    "_>_": _numeric("_>_", operator.gt),
    "_>=_": _numeric("_>=_", operator.ge),
    "hasValue": _has_value,
    "value": _value,
    "orValue": _or_value,
    "lowerAscii": lambda text: celtypes.StringType(text.lower()),
    "upperAscii": lambda text: celtypes.StringType(text.upper()),
    "trim": lambda text: celtypes.StringType(text.strip()),
    "replace": lambda text, old, new, limit=-1: celtypes.StringType(text.replace(old, new, limit)),
    "split": _split,
    "join": _join,
    "substring": _substring,
    "indexOf": _index_of,
    "lastIndexOf": lambda container, wanted: _index_of(container, wanted, last=True),
    "isSorted": _is_sorted,
    "sum": _sum,
    "min": _extreme(min),
    "max": _extreme(max),
}
"""The Kubernetes CEL library functions cel-python lacks, by the name a rule calls them with."""
