"""Table output: the server-side printing that gives `kubectl get` its columns.

kubectl negotiates `as=Table;g=meta.k8s.io;v=v1` for get, list and watch (each watch event then
carries a one-row Table). Without it kubectl shows only NAME and AGE. Rows carry the object as
PartialObjectMetadata by default, which kubectl needs for `--show-labels` and the NAMESPACE
column of `-A`. Custom resources print their CRD's additionalPrinterColumns, evaluated from the
simple JSONPaths CRDs allow; date cells are humanized here because kubectl prints cells verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from kfval.embedded.apiserver import columns, discovery, workloadcolumns
from kfval.embedded.errors import BadRequestError
from kfval.embedded.types import Body, PrinterColumn, ResourceKey, ResourceType

TABLE_API_VERSION = "meta.k8s.io/v1"
INCLUDE_OBJECT_POLICIES = ("None", "Metadata", "Object")
PRINTERS: dict[ResourceKey, columns.Printer] = {**columns.CORE_PRINTERS, **workloadcolumns.WORKLOAD_PRINTERS}

_STEP = re.compile(
    r"""\.\*                                 # .*  every value
      | \.(?P<field>(?:\\.|[^.\[\\])+)     # .name (dots escaped as \.)
      | \[\s*(?P<quoted>'[^']*'|"[^"]*")\s*\]  # ['name']
      | \[\s*\?\(@(?P<filter>[^=!<>]+?)\s*(?P<op>==|!=)\s*(?P<value>[^)]*?)\s*\)\s*\]  # [?(@.type=="Ready")]
      | \[(?P<index>[^\]]*)\]                # [0] [-1:] [*] [1:3]
    """,
    re.VERBOSE,
)


def wants_table(accept_header: str) -> bool:
    """True when the client asks for `as=Table;g=meta.k8s.io;v=v1` (kubectl get, get -w)."""
    return discovery.accepts_as(accept_header, group="meta.k8s.io", version="v1", kind="Table")


def _steps(path: str) -> Iterator[re.Match[str]]:
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise BadRequestError(f"unrecognized JSONPath {path!r} at {text[position:]!r}")
        yield match
        position = match.end()


def _select_index(value: Any, spec: str) -> list[Any]:
    if not isinstance(value, list):
        return []
    spec = spec.strip()
    if spec == "*":
        return list(value)
    if ":" in spec:
        start, _, stop = spec.partition(":")
        return value[int(start) if start.strip() else None : int(stop) if stop.strip() else None]
    index = int(spec)
    return [value[index]] if -len(value) <= index < len(value) else []


def _text(value: Any) -> str:
    """A JSON value as JSONPath prints it: strings bare, booleans lowercase, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _filter(values: list[Any], match: re.Match[str]) -> list[Any]:
    wanted = match["value"].strip().strip("'\"")
    chosen = []
    for value in values:
        for item in value if isinstance(value, list) else []:
            found = evaluate_jsonpath(item, match["filter"])
            equal = bool(found) and _text(found[0]) == wanted
            if equal == (match["op"] == "=="):
                chosen.append(item)
    return chosen


def _step(values: list[Any], match: re.Match[str]) -> list[Any]:
    if match["filter"] is not None:
        return _filter(values, match)
    key = match["field"]
    if key is None and match["quoted"] is not None:
        key = match["quoted"][1:-1]
    if key is not None:
        key = key.replace("\\.", ".")
        return [v[key] for v in values if isinstance(v, dict) and key in v]
    if match["index"] is None:
        return [x for v in values for x in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else [])]
    return [x for v in values for x in _select_index(v, match["index"])]


def evaluate_jsonpath(body: Any, path: str) -> list[Any]:
    """The values a simple JSONPath selects (`.status.conditions[-1:].type`, `.spec.replicas`, `[?(@.x=="y")]`)."""
    values = [body]
    for match in _steps(path):
        values = _step(values, match)
    return values


def _printer_cell(column: PrinterColumn, body: Body, now: datetime) -> Any:
    """A CR column's cell: the first value its JSONPath selects, typed as the column declares."""
    try:
        found = evaluate_jsonpath(body, column.json_path)
    except (BadRequestError, ValueError):
        return None
    if not found or found[0] is None:
        return None
    value = found[0]
    if column.type == "date" and isinstance(value, str):
        try:
            return columns.since(value, now)
        except ValueError:
            return value
    if column.type == "string":
        return _text(value)
    return value


def _custom_printer(printer_columns: tuple[PrinterColumn, ...]) -> columns.Printer:
    defined = tuple(
        columns.Column(c.name, c.description, type=c.type, priority=c.priority, format=c.format)
        for c in printer_columns
    )

    def cells(body: Body, now: datetime) -> list[Any]:
        return [columns.name(body), *(_printer_cell(c, body, now) for c in printer_columns)]

    return columns.Printer((columns.NAME, *defined), cells)


def printer_for(rt: ResourceType) -> columns.Printer:
    """The built-in printer of a kind, its CRD's printer columns, or NAME and AGE."""
    printer = PRINTERS.get(rt.key)
    if printer is not None:
        return printer
    if rt.printer_columns:
        return _custom_printer(rt.printer_columns)
    return columns.DEFAULT_PRINTER


def _row_object(body: Body, include_object: str) -> Body | None:
    if include_object == "Object":
        return body
    if include_object == "Metadata":
        return {"kind": "PartialObjectMetadata", "apiVersion": TABLE_API_VERSION, "metadata": body.get("metadata", {})}
    return None


def table(
    rt: ResourceType,
    items: list[Body],
    *,
    resource_version: str,
    now: datetime,
    include_object: str = "Metadata",
) -> Body:
    """A meta.k8s.io/v1 Table of `items` (one item for a get or a watch event)."""
    if include_object not in INCLUDE_OBJECT_POLICIES:
        raise BadRequestError(f"includeObject: Unsupported value: {include_object!r}")
    printer = printer_for(rt)
    rows = []
    for body in items:
        row: Body = {"cells": printer.cells(body, now)}
        shown = _row_object(body, include_object)
        if shown is not None:
            row["object"] = shown
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": TABLE_API_VERSION,
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [column.definition() for column in printer.columns],
        "rows": rows,
    }
