"""Fields a custom resource may not keep: what its schema does not know, and nulls it does not allow.

kube-apiserver decodes every custom resource (a request body, a patched object, an object read back
from storage) through its CRD's structural schema: fields that are neither declared nor under
`x-kubernetes-preserve-unknown-fields` are dropped (structural/pruning), a `null` in a property that
is neither nullable nor defaulted is dropped (PruneNonNullableNullsWithoutDefaults), and
`metadata` (at the root and in `x-kubernetes-embedded-resource` objects) keeps only ObjectMeta's
fields. The paths of what was dropped are what `fieldValidation` reports: `unknown field
"spec.foo"` (root metadata first, then the schema's findings sorted, then embedded metadata's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kfval.embedded.types import Body, ResourceType

Schema = Mapping[str, Any]
EMBEDDED_META_FIELDS = ("apiVersion", "kind", "metadata")
OWNER_REFERENCE_FIELDS = frozenset({"apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"})
MANAGED_FIELDS_ENTRY_FIELDS = frozenset(
    {"manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"}
)
OBJECT_META_FIELDS: dict[str, frozenset[str] | None] = {
    **dict.fromkeys(
        (
            "name",
            "generateName",
            "namespace",
            "selfLink",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "labels",
            "annotations",
            "finalizers",
        )
    ),
    "ownerReferences": OWNER_REFERENCE_FIELDS,
    "managedFields": MANAGED_FIELDS_ENTRY_FIELDS,
}
"""metav1.ObjectMeta's JSON fields (v1.32), with the fields of the objects its lists hold."""


@dataclass
class Pruned:
    """What one pruning dropped, in the order the strict decoder reports it."""

    metadata: list[str] = field(default_factory=list)
    schema: list[str] = field(default_factory=list)
    embedded: list[str] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [*self.metadata, *sorted(self.schema), *sorted(self.embedded)]


def decode(rt: ResourceType, body: Body) -> list[str]:
    """Drop what decoding drops, in place: a custom resource's unknown fields, any kind's unknown
    metadata (a built-in kind's other fields are not known here); the paths of what was dropped."""
    if rt.schema is not None:
        return prune_resource(rt.schema, body)
    meta = body.get("metadata")
    return prune_object_meta(meta, "metadata") if isinstance(meta, dict) else []


def prune_resource(schema: Schema, body: dict[str, Any]) -> list[str]:
    """Prune a whole custom resource in place; the paths of the unknown fields it had."""
    pruned = Pruned()
    if isinstance(body.get("metadata"), dict):
        pruned.metadata = prune_object_meta(body["metadata"], "metadata")
    _prune_map(body, {**schema, "x-kubernetes-embedded-resource": True}, "", pruned)
    drop_nulls(schema, body)
    return pruned.paths()


def prune_object_meta(meta: dict[str, Any], path: str) -> list[str]:
    """Drop what ObjectMeta does not have (in owner references and managed fields too)."""
    return _prune_declared(meta, OBJECT_META_FIELDS, path)


def _prune_declared(value: dict[str, Any], declared: Mapping[str, frozenset[str] | None], path: str) -> list[str]:
    unknown: list[str] = []
    for key in list(value):
        where = f"{path}.{key}"
        if key not in declared:
            unknown.append(where)
            del value[key]
            continue
        item_fields = declared[key]
        if item_fields is not None and isinstance(value[key], list):
            for index, item in enumerate(value[key]):
                if isinstance(item, dict):
                    unknown += _prune_declared(item, dict.fromkeys(item_fields), f"{where}[{index}]")
    return sorted(unknown)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _prune(value: Any, schema: Schema | None, path: str, pruned: Pruned) -> None:
    if isinstance(value, dict):
        _prune_map(value, schema, path, pruned)
    elif isinstance(value, list):
        items = (schema or {}).get("items")
        for index, item in enumerate(value):
            _prune(item, items if isinstance(items, Mapping) else None, f"{path}[{index}]", pruned)


def _prune_map(value: dict[str, Any], schema: Schema | None, path: str, pruned: Pruned) -> None:
    schema = schema or {}
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    properties: Mapping[str, Any] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key in list(value):
        if embedded and key in EMBEDDED_META_FIELDS:
            if key == "metadata" and isinstance(value[key], dict) and path:
                pruned.embedded += prune_object_meta(value[key], _join(path, key))
        elif key in properties:
            _prune(value[key], properties[key], _join(path, key), pruned)
        elif isinstance(extra, Mapping):
            _prune(value[key], extra, _join(path, key), pruned)
        elif not preserve and extra is not True:
            pruned.schema.append(_join(path, key))
            del value[key]


def drop_nulls(schema: Schema, value: Any) -> None:
    """Remove `null` from properties that are neither nullable nor defaulted (they read as absent)."""
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties") or {}
        for key in list(value):
            sub = properties.get(key)
            if sub is None:
                continue
            if value[key] is None and not sub.get("nullable") and "default" not in sub:
                del value[key]
            else:
                drop_nulls(sub, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            drop_nulls(schema["items"], item)


_JSON_TYPES = ((bool, "bool"), (int, "number"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"))
_GO_TYPES = {
    "generation": "int64",
    "deletionGracePeriodSeconds": "int64",
    "labels": "map[string]string",
    "annotations": "map[string]string",
    "finalizers": "[]string",
    "ownerReferences": "[]v1.OwnerReference",
    "managedFields": "[]v1.ManagedFieldsEntry",
}
"""The Go types of ObjectMeta's fields other than strings and timestamps."""


def object_meta_error(meta: Any) -> str | None:
    """Go's `json.Unmarshal` error for metadata that is not an ObjectMeta, or None when it is one.

    Checked lightly: the shape of each field (strings, integers, string maps and lists, lists of
    objects), not the contents of owner references or managed fields.
    """
    if not isinstance(meta, dict):
        return f"json: cannot unmarshal {_json_type(meta)} into Go value of type v1.ObjectMeta"
    for key in OBJECT_META_FIELDS:
        value = meta.get(key)
        if value is None:
            continue
        go_type = _GO_TYPES.get(key, "string")
        where = f"ObjectMeta.{key}"
        if go_type == "int64":
            wrong = _json_type(value) != "number" or not float(value).is_integer()
        elif go_type == "string":
            wrong = not isinstance(value, str)
        elif go_type.startswith("map"):
            wrong = not isinstance(value, dict)
            bad = next((item for item in (value.values() if not wrong else ()) if not isinstance(item, str)), None)
            if bad is not None:
                return _unmarshal_error(bad, where, "string")
        else:
            wrong = not isinstance(value, list)
            item_type, item_class = ("string", str) if go_type == "[]string" else (go_type[2:], dict)
            bad = next((item for item in (value if not wrong else ()) if not isinstance(item, item_class)), None)
            if bad is not None:
                return _unmarshal_error(bad, where, item_type)
        if wrong:
            return _unmarshal_error(value, where, go_type)
    return None


def _json_type(value: Any) -> str:
    return next((name for python, name in _JSON_TYPES if isinstance(value, python)), "null")


def _unmarshal_error(value: Any, where: str, go_type: str) -> str:
    return f"json: cannot unmarshal {_json_type(value)} into Go struct field {where} of type {go_type}"
