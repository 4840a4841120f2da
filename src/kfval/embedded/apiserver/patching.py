"""PATCH bodies turned into new objects, as the kube-apiserver's patch handler does.

Clients choose the patch language with the Content-Type: `kubectl patch --type=json` and the Python
client's list bodies send RFC 6902 JSON patches, `kubectl label` and every custom-resource patch send
RFC 7386 merge patches, and client-side `kubectl apply` to a built-in kind sends a strategic merge
patch whose directives (`$setElementOrder`, `$patch`, `$retainKeys`, `$deleteFromPrimitiveList`) and
merge keys a naive deep merge would get wrong (it would corrupt env lists and containers).

Errors follow upstream: an undecodable body is 400; a JSON patch that does not apply (failed `test`,
missing path) is 422 "the server rejected our request due to an error in our request" with the
patch library's message as cause; a strategic merge patch to a custom resource is 415; a badly
formed directive is 400 and a list item without its merge key is 500, as in apimachinery.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import jsonpatch

from kfval.embedded import errors
from kfval.embedded.apiserver import mergekeys
from kfval.embedded.types import Body

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
BUILTIN_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
CUSTOM_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)
MAX_JSON_PATCH_OPERATIONS = 10000

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ELEMENT_ORDER = "$setElementOrder/"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"


class PatchRejectedError(errors.InvalidError):
    """422 for a patch that is well formed but does not apply, worded like upstream's generic 422."""

    def __init__(self, cause: str) -> None:
        errors.ApiError.__init__(
            self,
            "the server rejected our request due to an error in our request",
            details={"causes": [{"reason": "UnexpectedServerResponse", "message": cause}]},
        )
        self.causes = []


def media_type(content_type: str) -> str:
    """The bare media type of a Content-Type header (parameters such as charset dropped)."""
    return content_type.split(";", 1)[0].strip().lower()


def accepted_patch_types(*, is_custom: bool) -> tuple[str, ...]:
    """The patch media types a resource accepts: custom resources have no strategic merge patch."""
    return CUSTOM_PATCH_TYPES if is_custom else BUILTIN_PATCH_TYPES


def unsupported(*, is_custom: bool) -> errors.ApiError:
    """The real server's 415 for a patch type the resource does not accept."""
    accepted = ", ".join(accepted_patch_types(is_custom=is_custom))
    return errors.UnsupportedMediaError(
        f"the body of the request was in an unknown format - accepted media types include: {accepted}"
    )


def apply_patch(current: Body, patch_bytes: bytes, content_type: str, *, kind: str, is_custom: bool) -> Body:
    """The object that results from patching `current` (never mutated) with a JSON, merge or strategic patch.

    `application/apply-patch+yaml` is not handled here: it needs a field manager and goes through
    `applying.server_side_apply`.
    """
    kind_of_patch = media_type(content_type)
    if kind_of_patch == APPLY_PATCH:
        raise errors.InternalError("apply patches are handled by applying.server_side_apply")
    if kind_of_patch not in accepted_patch_types(is_custom=is_custom):
        raise unsupported(is_custom=is_custom)
    patch = _decode(patch_bytes)
    if kind_of_patch == JSON_PATCH:
        return json_patch(current, patch)
    if not isinstance(patch, dict):
        raise errors.BadRequestError("invalid JSON document: a patch must be a JSON object")
    if kind_of_patch == MERGE_PATCH:
        merged = merge_patch(copy.deepcopy(current), patch)
        return dict(merged)
    return strategic_merge_patch(current, patch, kind=kind)


def _decode(patch_bytes: bytes) -> Any:
    try:
        return json.loads(patch_bytes or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.BadRequestError(f"error decoding patch: {exc}") from exc


def json_patch(current: Body, operations: Any) -> Body:
    """RFC 6902: apply a list of operations (`add`, `remove`, `replace`, `move`, `copy`, `test`)."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise errors.BadRequestError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise errors.TooLargeError(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}"
        )
    result: Any = copy.deepcopy(current)
    for operation in operations:
        try:
            result = jsonpatch.JsonPatch([operation]).apply(result, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
            raise PatchRejectedError(json_patch_failure(operation)) from exc
    if not isinstance(result, dict):
        raise PatchRejectedError("the patched document is not a JSON object")
    return result


def json_patch_failure(operation: Mapping[str, Any]) -> str:
    """Why one operation did not apply, worded as the API server's json-patch library words it."""
    op, path = str(operation.get("op", "")), str(operation.get("path", ""))
    if op == "test":
        return f"testing value {path} failed: test failed"
    if op == "remove":
        return f"Unable to remove nonexistent key: {path.rsplit('/', 1)[-1]}: missing value"
    if op == "replace":
        return f"replace operation does not apply: doc is missing key: {path}: missing value"
    if op == "add":
        return f'add operation does not apply: doc is missing path: "{path}": missing value'
    if op in ("move", "copy"):
        return f"{op} operation does not apply: doc is missing from path: {operation.get('from', '')}: missing value"
    return f"Unexpected kind: {op}"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, `null` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(current: Body, patch: Body, *, kind: str) -> Body:
    """Kubernetes' strategic merge patch of a built-in object, with its directives and merge keys."""
    return _merge_map(copy.deepcopy(current), copy.deepcopy(patch), mergekeys.kind_shape(kind))


def _merge_map(original: dict[str, Any], patch: dict[str, Any], shape: str) -> dict[str, Any]:
    if DIRECTIVE in patch:
        return _map_directive(patch)
    _retain_keys(original, patch)
    _set_element_orders(original, patch, shape)
    for key, value in patch.items():
        _merge_field(original, key, value, shape)
    return original


def _map_directive(patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch.pop(DIRECTIVE)
    if directive == "replace":
        cleaned: dict[str, Any] = clean(patch)
        return cleaned
    if directive == "delete":
        return {}
    raise errors.InternalError(f"unknown patch type: {directive} in map: {patch}")


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys`: drop every key of the live map not listed (a union type switching member)."""
    if RETAIN_KEYS not in patch:
        return
    retained = patch.pop(RETAIN_KEYS)
    if not isinstance(retained, list):
        raise errors.BadRequestError("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if key not in retained:
            raise errors.BadRequestError("invalid patch format of retainKeys")
    for key in [k for k in original if k not in retained]:
        del original[key]


def _set_element_orders(original: dict[str, Any], patch: dict[str, Any], shape: str) -> None:
    """`$setElementOrder/<list>`: merge the list it names, then order the result as it says."""
    for directive in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(directive)
        name = directive[len(SET_ELEMENT_ORDER) :]
        if not isinstance(order, list) or not name:
            raise errors.BadRequestError("invalid patch format of setElementOrder list")
        field = mergekeys.field(shape, name)
        live, patched = original.get(name), patch.pop(name, None)
        if isinstance(live, list) and isinstance(patched, list):
            merged = _merge_list(live, patched, field) if field.list_type != "atomic" else clean(patched)
        elif isinstance(patched, list):
            merged = clean(patched)
        elif isinstance(live, list):
            merged = live
        else:
            continue
        if field.list_type != "atomic":
            key = _item_key(field, merged)
            ours, server_only = _partition(merged, order, key)
            merged = _normalize_order(ours, server_only, order, live if isinstance(live, list) else [], key)
        original[name] = merged


def _merge_field(original: dict[str, Any], key: str, value: Any, shape: str) -> None:
    if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
        name = key[len(DELETE_FROM_PRIMITIVE_LIST) :]
        if not name or not isinstance(value, list):
            raise errors.BadRequestError("invalid patch format of primitive list")
        live = original.get(name)
        if isinstance(live, list):
            original[name] = [item for item in live if item not in value]
        return
    if value is None:
        original.pop(key, None)
        return
    live = original.get(key)
    field = mergekeys.field(shape, key)
    if isinstance(live, dict) and isinstance(value, dict):
        original[key] = _merge_map(live, value, field.shape)
    elif isinstance(live, list) and isinstance(value, list) and field.list_type != "atomic":
        original[key] = _merge_list(live, value, field)
    else:
        original[key] = clean(value)


def _merge_list(live: list[Any], patch: list[Any], field: mergekeys.Field) -> list[Any]:
    key = _item_key(field, live + patch)
    if not key:
        merged = _deduplicated(live + [clean(item) for item in patch])
    else:
        live, patch = _special_elements(live, patch, key)
        merged = _merge_items(live, patch, key, field.shape)
    ours, server_only = _partition(merged, patch, key)
    return _normalize_order(ours, server_only, patch, live, key)


def _item_key(field: mergekeys.Field, items: list[Any]) -> str:
    """The merge key, or "" when the list merges as primitives (a set, or items that are not maps)."""
    if field.list_type == "map" and all(isinstance(item, dict) for item in items):
        return field.merge_key
    return ""


def _special_elements(live: list[Any], patch: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    """Apply `{"$patch": "delete"|"replace"}` items; return the live list and the remaining patch items."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        directive = item.get(DIRECTIVE)
        if directive is None:
            plain.append(item)
        elif directive == "delete":
            if key not in item:
                raise errors.InternalError(f"map: {item} does not contain declared merge key: {key}")
            live = [other for other in live if not (key in other and other[key] == item[key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise errors.InternalError("merging lists cannot yet be specified in the patch")
        else:
            raise errors.InternalError(f"unknown patch type: {directive} in map: {item}")
    if replace:
        return [clean(item) for item in plain], []
    return live, plain


def _merge_items(live: list[Any], patch: list[Any], key: str, shape: str) -> list[Any]:
    merged = list(live)
    for item in patch:
        if key not in item:
            raise errors.InternalError(f"map: {item} does not contain declared merge key: {key}")
        index = _index(merged, item, key)
        if index < 0:
            merged.append(clean(item))
        else:
            merged[index] = _merge_map(merged[index], item, shape)
    return merged


def _index(items: list[Any], wanted: Any, key: str) -> int:
    """Position of `wanted` in `items`, matching maps by merge key and primitives by value; -1 if absent."""
    for position, item in enumerate(items):
        if key:
            if isinstance(item, dict) and item.get(key) == wanted.get(key):
                return position
        elif item == wanted:
            return position
    return -1


def _partition(merged: list[Any], present: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    ours = [item for item in merged if _index(present, item, key) >= 0]
    server_only = [item for item in merged if _index(present, item, key) < 0]
    return ours, server_only


def _normalize_order(
    ours: list[Any], server_only: list[Any], patch_order: list[Any], server_order: list[Any], key: str
) -> list[Any]:
    """Patch items in patch order, server-only items in live order, interleaved as upstream does."""
    ours = _sorted_by(ours, patch_order, key)
    server_only = _sorted_by(server_only, server_order, key)
    result: list[Any] = []
    left, right = 0, 0
    while left < len(server_only) and right < len(ours):
        left_at = _index(server_order, server_only[left], key)
        right_at = _index(server_order, ours[right], key)
        if 0 <= left_at < right_at:
            result.append(server_only[left])
            left += 1
        else:
            result.append(ours[right])
            right += 1
    return result + server_only[left:] + ours[right:]


def _sorted_by(items: list[Any], order: list[Any], key: str) -> list[Any]:
    def position(item: Any) -> int:
        found = _index(order, item, key)
        return found if found >= 0 else len(order)

    return sorted(items, key=position)


def _deduplicated(items: list[Any]) -> list[Any]:
    unique: list[Any] = []
    for item in items:
        if item not in unique:
            unique.append(item)
    return unique


def clean(value: Any) -> Any:
    """A patch value stripped of directives and nulls, as it reads once decoded into the typed object."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [clean(item) for item in value if not (isinstance(item, dict) and item.get(DIRECTIVE) == "delete")]
    return value
