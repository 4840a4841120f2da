"""The `x-kubernetes-*` invariants of a CRD schema that kube-openapi's validator does not check.

kube-apiserver checks them in the custom resource strategy, after the schema: objects marked
`x-kubernetes-embedded-resource` need an `apiVersion` and a `kind` and a valid ObjectMeta
(schemaobjectmeta.Validate), and lists marked `x-kubernetes-list-type: set` or `map` may not hold an
item twice (structural/listtype): `spec.tags[2]: Duplicate value: "a"`, or for a map list the item's
keys, `spec.ports[1]: Duplicate value: map[string]interface {}{"name":"http"}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from kfval.embedded.admission import correlation, pruning, validation
from kfval.embedded.errors import Cause

Schema = Mapping[str, Any]


def _children(schema: Schema, value: Any, path: str) -> Iterator[tuple[Schema, Any, str]]:
    """Each value below this one that the schema describes, with its schema and field path."""
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key in sorted(value):
            sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                yield sub, value[key], f"{path}.{key}" if path else key
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            yield schema["items"], item, f"{path}[{index}]"


def embedded_resources(schema: Schema, value: Any, path: str = "") -> list[Cause]:
    """apiVersion, kind and metadata of every embedded resource below the root."""
    causes: list[Cause] = []
    if path and isinstance(value, dict) and schema.get("x-kubernetes-embedded-resource"):
        causes += _embedded(value, path)
    for sub, child, where in _children(schema, value, path):
        causes += embedded_resources(sub, child, where)
    return causes


def _embedded(value: dict[str, Any], path: str) -> list[Cause]:
    causes = [
        validation.required(f"{path}.{key}", "must not be empty") for key in ("apiVersion", "kind") if key not in value
    ]
    for key in ("apiVersion", "kind"):
        if key not in value:
            continue
        text = value[key]
        if not isinstance(text, str):
            causes.append(validation.invalid(f"{path}.{key}", text, "must be a string"))
        elif not text:
            causes.append(validation.invalid(f"{path}.{key}", text, "must not be empty"))
        elif key == "apiVersion" and text.count("/") > 1:
            causes.append(validation.invalid(f"{path}.{key}", text, f"unexpected GroupVersion string: {text}"))
    if "metadata" in value:
        causes += _embedded_meta(value["metadata"], f"{path}.metadata")
    return causes


def _embedded_meta(meta: Any, path: str) -> list[Cause]:
    """ValidateObjectMeta of an embedded resource: an empty name is allowed (upstream fills `fakename`)."""
    error = pruning.object_meta_error(meta)
    if error is not None:
        return [validation.invalid(path, meta, error)]
    causes: list[Cause] = []
    for key in ("generateName", "name"):
        text = str(meta.get(key) or "")
        if text:
            causes += [validation.invalid(f"{path}.{key}", text, m) for m in validation.dns1123_subdomain_errors(text)]
    namespace = str(meta.get("namespace") or "")
    if namespace:
        causes += [
            validation.invalid(f"{path}.namespace", namespace, m) for m in validation.dns1123_label_errors(namespace)
        ]
    for key, text in sorted((meta.get("labels") or {}).items()):
        causes += [validation.invalid(f"{path}.labels", key, m) for m in validation.qualified_name_errors(key)]
        causes += [validation.invalid(f"{path}.labels", text, m) for m in validation.label_value_errors(text)]
    for key in sorted(meta.get("annotations") or {}):
        causes += [
            validation.invalid(f"{path}.annotations", key, m) for m in validation.qualified_name_errors(key.lower())
        ]
    return causes


def list_types(schema: Schema, value: Any, path: str = "") -> list[Cause]:
    """Items repeated in `set` lists, and items with repeated keys in `map` lists."""
    causes: list[Cause] = []
    if isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            causes += _set_duplicates(value, path)
        elif list_type == "map":
            causes += _map_duplicates(value, list(schema.get("x-kubernetes-list-map-keys") or []), path)
    for sub, child, where in _children(schema, value, path):
        causes += list_types(sub, child, where)
    return causes


def _set_duplicates(items: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for index, item in enumerate(items):
        if any(correlation.same(item, earlier) for earlier in items[:index]):
            causes.append(validation.duplicate(f"{path}[{index}]", item))
    return causes


def _map_duplicates(items: list[Any], keys: list[str], path: str) -> list[Cause]:
    for index, item in enumerate(items):
        if item is not None and not isinstance(item, dict):
            return [validation.invalid(f"{path}[{index}]", item, "must be an object for an array of list-type map")]
    causes: list[Cause] = []
    for index, item in enumerate(items):
        wanted = [(item or {}).get(key) for key in keys]
        earlier = items[:index]
        if any(all(correlation.same((e or {}).get(k), w) for k, w in zip(keys, wanted, strict=True)) for e in earlier):
            shown = ", ".join(
                f"{json.dumps(key)}:{_go_interface(value)}" for key, value in zip(keys, wanted, strict=True)
            )
            causes.append(
                validation.duplicate(f"{path}[{index}]", None, rendered=f"map[string]interface {{}}{{{shown}}}")
            )
    return causes


def _go_interface(value: Any) -> str:
    """A JSON scalar as Go's `%#v` prints it inside a map[string]interface{}."""
    if value is None:
        return "interface {}(nil)"
    return json.dumps(value) if isinstance(value, str) else validation.go_value(value)
