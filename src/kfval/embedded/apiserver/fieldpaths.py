"""Field paths and field sets in the `fieldsV1` notation that `metadata.managedFields` carries.

Server-side apply reasons about ownership one field at a time: which manager set `.spec.replicas`,
which one added the container `main`. A path is a tuple of elements written as the wire format
writes them (`f:spec`, `k:{"name":"main"}` for an item of a keyed list, `v:"x"` for a member of a set,
`i:0` for a position), so that sets convert to and from `fieldsV1` trees without translation. The
set of an object holds its leaves, its list items and its atomic lists, as structured-merge-diff's
`ToFieldSet` does for typed objects.
"""

from __future__ import annotations

import json
from typing import Any

from kfval.embedded.apiserver import mergekeys

Path = tuple[str, ...]
FieldSet = frozenset[Path]

MEMBER = "."
"""The key a `fieldsV1` node uses to say "this node itself is owned" when it also has children."""

SERVER_SET_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "selfLink",
        "managedFields",
        "clusterName",
    }
)
"""Metadata fields nobody owns (stripped before ownership is computed, as the real server does)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What `value_at` answers for a path the object does not have."""


def object_field_set(obj: dict[str, Any], kind: str) -> FieldSet:
    """The fields of a whole object, minus apiVersion, kind and server-set metadata."""
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        body["metadata"] = {k: v for k, v in metadata.items() if k not in SERVER_SET_METADATA}
        if not body["metadata"]:
            del body["metadata"]
    return frozenset(_map_paths(body, mergekeys.kind_shape(kind), ()))


def _map_paths(value: dict[str, Any], shape: str, prefix: Path) -> set[Path]:
    paths: set[Path] = set()
    for key, child in value.items():
        path = (*prefix, f"f:{key}")
        field = mergekeys.field(shape, key)
        if isinstance(child, dict) and child:
            paths |= _map_paths(child, field.shape, path)
        elif isinstance(child, list) and field.list_type != "atomic" and list_elements(child, field) is not None:
            paths |= _list_paths(child, field, path)
        else:
            paths.add(path)
    return paths


def _list_paths(items: list[Any], field: mergekeys.Field, prefix: Path) -> set[Path]:
    paths: set[Path] = set()
    elements = list_elements(items, field) or []
    for element, item in zip(elements, items, strict=True):
        path = (*prefix, element)
        paths.add(path)
        if isinstance(item, dict) and field.list_type == "map":
            paths |= _map_paths(item, field.shape, path)
    return paths


def list_elements(items: list[Any], field: mergekeys.Field) -> list[str] | None:
    """The path element of each item, or None when the list cannot be keyed (then it counts as atomic)."""
    elements = [item_element(item, field) for item in items]
    if any(element is None for element in elements) or len(set(elements)) != len(elements):
        return None
    return [element for element in elements if element is not None]


def item_element(item: Any, field: mergekeys.Field) -> str | None:
    """`k:{...}` for an item of a keyed list, `v:...` for a set member; None if a key is missing."""
    if field.list_type == "set":
        return "v:" + _compact(item)
    if not isinstance(item, dict):
        return None
    keys: dict[str, Any] = {}
    for name in sorted(field.keys):
        value = item.get(name, mergekeys.KEY_DEFAULTS.get(name, MISSING))
        if value is MISSING:
            return None
        keys[name] = value
    return "k:" + _compact(keys)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def to_fields_v1(paths: FieldSet) -> dict[str, Any]:
    """The `fieldsV1` tree of a set: a leaf is `{}`, an owned node with children also holds `".": {}`."""
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        node[MEMBER] = {}
    return _without_lone_members(tree)


def _without_lone_members(node: dict[str, Any]) -> dict[str, Any]:
    if list(node) == [MEMBER]:
        return {}
    return {element: child if element == MEMBER else _without_lone_members(child) for element, child in node.items()}


def from_fields_v1(tree: Any, prefix: Path = ()) -> FieldSet:
    """The set a `fieldsV1` tree describes (malformed parts are ignored)."""
    paths: set[Path] = set()
    if not isinstance(tree, dict):
        return frozenset()
    for element, child in tree.items():
        if element == MEMBER:
            if prefix:
                paths.add(prefix)
            continue
        path = (*prefix, element)
        if isinstance(child, dict) and child:
            paths |= from_fields_v1(child, path)
        else:
            paths.add(path)
    return frozenset(paths)


def value_at(obj: Any, path: Path) -> Any:
    """The value at `path` in `obj`, or MISSING."""
    node = obj
    for element in path:
        node = _child(node, element)
        if node is MISSING:
            return MISSING
    return node


def _child(node: Any, element: str) -> Any:
    kind, _, text = element.partition(":")
    if kind == "f":
        return node.get(text, MISSING) if isinstance(node, dict) else MISSING
    if not isinstance(node, list):
        return MISSING
    position = find_item(node, element)
    return MISSING if position < 0 else node[position]


def find_item(items: list[Any], element: str) -> int:
    """Position of the list item a `k:`, `v:` or `i:` element names, or -1."""
    kind, _, text = element.partition(":")
    try:
        wanted = json.loads(text)
    except ValueError:
        return -1
    for position, item in enumerate(items):
        if kind == "i" and position == wanted:
            return position
        if kind == "v" and item == wanted:
            return position
        if kind == "k" and _matches_keys(item, wanted):
            return position
    return -1


def _matches_keys(item: Any, keys: Any) -> bool:
    if not isinstance(item, dict) or not isinstance(keys, dict):
        return False
    return all(item.get(k, mergekeys.KEY_DEFAULTS.get(k)) == v for k, v in keys.items())


def remove(obj: dict[str, Any], path: Path) -> bool:
    """Delete the field or item at `path`; drop maps emptied by it. True if something was removed."""
    parent = value_at(obj, path[:-1])
    element = path[-1]
    removed = False
    if isinstance(parent, dict) and element.startswith("f:") and element[2:] in parent:
        del parent[element[2:]]
        removed = True
    elif isinstance(parent, list):
        position = find_item(parent, element)
        if position >= 0:
            del parent[position]
            removed = True
    if removed and len(path) > 1 and parent in ({}, []):
        remove(obj, path[:-1])
    return removed


def describe(path: Path) -> str:
    """A path as Status causes print it: `.spec.template.spec.containers[name="main"].image`."""
    text = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            text += "." + rest
        elif kind == "k":
            keys = json.loads(rest)
            text += "[" + ",".join(f"{k}={_compact(v)}" for k, v in keys.items()) + "]"
        elif kind == "v":
            text += f"[={rest}]"
        else:
            text += f"[{rest}]"
    return text
