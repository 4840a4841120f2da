"""Which part of the stored object a part of the updated one stands for, as apiextensions correlates them.

Two rules of kube-apiserver v1.32 need the old value of a field, not just the old object: validation
ratcheting (CRDValidationRatcheting, on by default) forgives a schema or rule violation in a value an
update leaves unchanged, and a transition rule (`x-kubernetes-validations` using `oldSelf`) runs only
where an old value exists. Values correlate through object properties and map keys, through
`x-kubernetes-list-type: map` items by their keys and `set` items by value; items of an atomic list
have no old value (`common.CorrelatedObject`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final


class _Missing:
    """No correlated old value (a create, a new field, an item of an atomic list)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def same(new: Any, old: Any) -> bool:
    """JSON equality that, unlike Python's, tells `true` from `1` (Go's reflect.DeepEqual on JSON values)."""
    if isinstance(new, bool) or isinstance(old, bool):
        return type(new) is type(old) and new == old
    if isinstance(new, dict) and isinstance(old, dict):
        return new.keys() == old.keys() and all(same(value, old[key]) for key, value in new.items())
    if isinstance(new, list) and isinstance(old, list):
        return len(new) == len(old) and all(same(a, b) for a, b in zip(new, old, strict=True))
    if isinstance(new, dict | list) or isinstance(old, dict | list):
        return False
    return bool(new == old)


def unchanged(new: Any, old: Any) -> bool:
    """Whether ratcheting forgives this value: it has an old value and equals it."""
    return old is not MISSING and same(new, old)


def member(old: Any, key: str) -> Any:
    """The old value of an object property or map entry."""
    if isinstance(old, dict) and key in old:
        return old[key]
    return MISSING


def item(schema: Mapping[str, Any], old: Any, new_item: Any) -> Any:
    """The old item a list item stands for: by its keys in a map list, by value in a set, none otherwise."""
    if not isinstance(old, list):
        return MISSING
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        return next((candidate for candidate in old if same(candidate, new_item)), MISSING)
    if list_type == "map" and isinstance(new_item, dict):
        keys = list(schema.get("x-kubernetes-list-map-keys") or [])
        wanted = [new_item.get(key) for key in keys]
        for candidate in old:
            if isinstance(candidate, dict) and all(
                same(candidate.get(key), value) for key, value in zip(keys, wanted, strict=True)
            ):
                return candidate
    return MISSING
