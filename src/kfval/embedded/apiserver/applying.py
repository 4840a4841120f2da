"""Server-side apply: merging an applier's configuration and keeping `metadata.managedFields` honest.

`kubectl apply --server-side` and Helm v4 (manager `python`, force=false) send the whole configuration
they want as an `application/apply-patch+yaml` PATCH. The server creates the object when it is missing,
otherwise merges the configuration into the live object by the same keys a strategic merge patch uses
(keyed lists merge item by item, sets by value, other lists are replaced), removes the fields that
manager applied last time and no longer sends (unless someone else owns them), and records who owns
what. A field another manager owns with a different value is a 409 conflict unless the applier forces.
Plain create/update/patch record an `Update` entry the same way (`update_managed_fields`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from kfval.embedded import errors
from kfval.embedded.apiserver import fieldpaths, mergekeys
from kfval.embedded.apiserver.fieldpaths import FieldSet, Path
from kfval.embedded.types import Body

APPLY = "Apply"
UPDATE = "Update"


@dataclass(frozen=True)
class ManagedEntry:
    """One `metadata.managedFields` item: a manager, how it wrote, and the fields it owns."""

    manager: str
    operation: str
    api_version: str
    time: str
    fields: FieldSet
    subresource: str = ""

    def owner_id(self) -> tuple[str, str, str, str]:
        """Who this entry stands for: appliers are one owner across versions, updaters one per version."""
        version = "" if self.operation == APPLY else self.api_version
        return (self.manager, self.operation, version, self.subresource)

    def printed(self) -> str:
        """The manager as conflict messages name it (`"python"`, `"kubectl-edit" using apps/v1`)."""
        text = f'"{self.manager}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text

    def to_body(self) -> Body:
        body: Body = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fieldpaths.to_fields_v1(self.fields),
        }
        if self.subresource:
            body["subresource"] = self.subresource
        return body


def decode_entries(obj: Body | None) -> list[ManagedEntry]:
    """The managedFields of an object; malformed entries are dropped."""
    raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    entries = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("manager", ""), str):
            continue
        entries.append(
            ManagedEntry(
                manager=item.get("manager", ""),
                operation=item.get("operation", UPDATE),
                api_version=item.get("apiVersion", ""),
                time=item.get("time", ""),
                fields=fieldpaths.from_fields_v1(item.get("fieldsV1")),
                subresource=item.get("subresource", ""),
            )
        )
    return entries


def encode_entries(obj: Body, entries: list[ManagedEntry]) -> None:
    """Write entries into `obj` in the server's order (Apply before Update, then by time and manager)."""
    kept = sorted(
        (e for e in entries if e.fields),
        key=lambda e: (e.operation, e.time[:19], e.manager, e.api_version, e.subresource),
    )
    metadata = obj.setdefault("metadata", {})
    if kept:
        metadata["managedFields"] = [e.to_body() for e in kept]
    else:
        metadata.pop("managedFields", None)


@dataclass(frozen=True)
class Comparison:
    """How a write changed an object, in field paths."""

    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    @property
    def changed(self) -> FieldSet:
        return self.added | self.modified


def compare(old: Body, new: Body, *, kind: str) -> Comparison:
    """Fields added, modified (leaf values that differ) and removed between two versions of an object."""
    old_set = fieldpaths.object_field_set(old, kind)
    new_set = fieldpaths.object_field_set(new, kind)
    modified = frozenset(
        path
        for path in old_set & new_set
        if not path[-1].startswith("k:") and fieldpaths.value_at(old, path) != fieldpaths.value_at(new, path)
    )
    return Comparison(added=new_set - old_set, modified=modified, removed=old_set - new_set)


def server_side_apply(
    current: Body | None, applied: Body, *, manager: str, force: bool, kind: str, now: str, subresource: str = ""
) -> Body:
    """The object after `manager` applies `applied` to `current` (None: the object does not exist yet).

    Raises ConflictError (409, causes FieldManagerConflict) when a field owned by another manager
    would change and `force` is false. Neither argument is mutated.
    """
    config = _configuration(applied)
    api_version = str(config.get("apiVersion") or (current or {}).get("apiVersion", ""))
    me = ManagedEntry(manager, APPLY, api_version, now, fieldpaths.object_field_set(config, kind), subresource)
    if current is None:
        created: Body = _drop_nulls(config)
        encode_entries(created, [me])
        return created
    entries = decode_entries(current)
    previous = next((e for e in entries if e.owner_id() == me.owner_id()), None)
    others = [e for e in entries if e.owner_id() != me.owner_id()]
    merged = _merge_map(copy.deepcopy(current), config, mergekeys.kind_shape(kind))
    if previous is not None:
        _prune(merged, previous.fields - me.fields, others)
    change = compare(current, merged, kind=kind)
    conflicts = [(e, path) for e in others for path in sorted(e.fields & change.changed)]
    if conflicts and not force:
        raise _conflict(conflicts)
    others = [replace(e, fields=e.fields - change.changed - change.removed) for e in others]
    if previous is not None and merged == current and previous.fields == me.fields:
        me = replace(me, time=previous.time)
    encode_entries(merged, [me, *others])
    return merged


def update_managed_fields(
    old: Body | None, new: Body, *, manager: str, operation: str = UPDATE, now: str, subresource: str = ""
) -> Body:
    """`new` with managedFields after a create, update or non-apply patch by `manager` (new is not mutated).

    The writer takes over every field it added or changed; fields it removed leave every owner. A
    client that sent different managedFields of its own replaces the recorded ones, as upstream.
    """
    result = copy.deepcopy(new)
    kind = str(new.get("kind", ""))
    api_version = str(new.get("apiVersion", ""))
    sent = (new.get("metadata") or {}).get("managedFields")
    recorded = (old or {}).get("metadata", {}).get("managedFields")
    entries = decode_entries(new if sent is not None and sent != recorded else old)
    if old is None:
        change = Comparison(fieldpaths.object_field_set(new, kind), frozenset(), frozenset())
    else:
        change = compare(old, new, kind=kind)
    me = ManagedEntry(manager, operation, api_version, now, frozenset(), subresource)
    previous = next((e for e in entries if e.owner_id() == me.owner_id()), None)
    others = [replace(e, fields=e.fields - change.changed - change.removed) for e in entries if e is not previous]
    owned = ((previous.fields if previous else frozenset()) - change.removed) | change.changed
    if previous is not None and not change.changed and not change.removed:
        me = replace(me, time=previous.time)
    encode_entries(result, [replace(me, fields=owned), *others])
    return result


def _configuration(applied: Body) -> Body:
    """The applied configuration without the metadata a client may not apply."""
    config = copy.deepcopy(applied)
    metadata = config.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return config


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


def _merge_map(live: dict[str, Any], config: dict[str, Any], shape: str) -> dict[str, Any]:
    for key, value in config.items():
        field = mergekeys.field(shape, key)
        old = live.get(key)
        if value is None:
            live.pop(key, None)
        elif isinstance(value, dict) and isinstance(old, dict):
            live[key] = _merge_map(old, value, field.shape)
        elif isinstance(value, list) and isinstance(old, list) and field.list_type != "atomic":
            live[key] = _merge_list(old, value, field)
        else:
            live[key] = _drop_nulls(value)
    return live


def _merge_list(live: list[Any], config: list[Any], field: mergekeys.Field) -> list[Any]:
    """Merge two keyed lists or sets, the applied order winning for shared items (structured-merge-diff)."""
    live_ids = fieldpaths.list_elements(live, field)
    config_ids = fieldpaths.list_elements(config, field)
    if live_ids is None or config_ids is None:
        return [_drop_nulls(item) for item in config]
    by_live = dict(zip(live_ids, live, strict=True))
    by_config = dict(zip(config_ids, config, strict=True))
    shared = [element for element in config_ids if element in by_live]
    out: list[Any] = []
    left, right = 0, 0
    while left < len(live_ids) or right < len(config_ids):
        here = live_ids[left] if left < len(live_ids) else None
        if here is not None and right < len(config_ids) and here == config_ids[right]:
            out.append(_merge_item(by_live[here], by_config[here], field))
            shared.remove(here)
            left, right = left + 1, right + 1
        elif here is not None and here in by_config and (right >= len(config_ids) or (shared and shared[0] != here)):
            left += 1
        elif here is not None and here not in by_config:
            out.append(by_live[here])
            left += 1
        else:
            element = config_ids[right]
            out.append(_merge_item(by_live.get(element), by_config[element], field))
            if element in shared:
                shared.remove(element)
            right += 1
    return out


def _merge_item(live: Any, config: Any, field: mergekeys.Field) -> Any:
    if isinstance(live, dict) and isinstance(config, dict) and field.list_type == "map":
        return _merge_map(live, config, field.shape)
    return _drop_nulls(config)


def _prune(merged: Body, dropped: FieldSet, others: list[ManagedEntry]) -> None:
    """Remove what this manager stopped applying, except fields (and parents of fields) others own."""
    kept = frozenset().union(*(e.fields for e in others)) if others else frozenset()
    removed_roots: list[Path] = []
    for path in sorted(dropped, key=len):
        if any(path[: len(root)] == root for root in removed_roots):
            continue
        if _is_item_key(path) or any(owned[: len(path)] == path for owned in kept):
            continue
        fieldpaths.remove(merged, path)
        removed_roots.append(path)


def _is_item_key(path: Path) -> bool:
    """Whether `path` is a key field of a list item (`...k:{"name":"x"}/f:name`), which stays with the item."""
    if len(path) < 2 or not path[-2].startswith("k:") or not path[-1].startswith("f:"):
        return False
    return f'"{path[-1][2:]}":' in path[-2]


def _conflict(conflicts: list[tuple[ManagedEntry, Path]]) -> errors.ApiError:
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {e.printed()}", "field": fieldpaths.describe(p)}
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {entry.printed()}: {fieldpaths.describe(path)}"
    else:
        lines: list[str] = []
        for printed in sorted({e.printed() for e, _ in conflicts}):
            lines.append(f"conflicts with {printed}:")
            lines.extend(f"- {fieldpaths.describe(p)}" for e, p in conflicts if e.printed() == printed)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.ConflictError(message, details={"causes": causes})
