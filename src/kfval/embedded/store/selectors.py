"""Label and field selectors, parsed once per request and matched against raw bodies.

Unsupported field selectors are refused with 400 rather than ignored: kubectl's `wait` and
`delete` depend on `metadata.name=` filtering, and a silently ignored selector is a wrong answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kfval.embedded.errors import BadRequestError
from kfval.embedded.types import Body

_LABEL_OPS = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*(.*?)|\s+(in|notin)\s*\((.*)\))?\s*$")


@dataclass(frozen=True)
class Requirement:
    """One clause of a selector: `key op values`."""

    key: str
    op: str
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "==", "in"):
            return present and value in self.values
        return not present or value not in self.values

    def __str__(self) -> str:
        """The clause as labels.Requirement.String() writes it: `a=b`, `a in (x,y)`, `a`, `!a`."""
        if self.op == "exists":
            return self.key
        if self.op == "!exists":
            return f"!{self.key}"
        values = ",".join(sorted(self.values))
        if self.op in ("in", "notin"):
            return f"{self.key} {self.op} ({values})"
        return f"{self.key}{self.op}{values}"


@dataclass(frozen=True)
class LabelSelector:
    """A parsed `labelSelector`; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, body: Body) -> bool:
        labels = body.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        """The string form kubectl prints and `scale` reports (labels.Selector.String(): sorted by key)."""
        return ",".join(str(r) for r in sorted(self.requirements, key=lambda r: (r.key, str(r))))


def _split_clauses(text: str) -> list[str]:
    """Split on commas that are not inside `in (...)` parentheses."""
    clauses: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            clauses.append("".join(current))
            current = []
        else:
            current.append(char)
    clauses.append("".join(current))
    return [c for c in clauses if c.strip()]


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse the string form (`a=b,c!=d,e in (f,g),!h`)."""
    if not text:
        return LabelSelector()
    requirements = []
    for clause in _split_clauses(text):
        match = _LABEL_OPS.match(clause)
        if match is None:
            raise BadRequestError(f"unable to parse requirement: found '{clause.strip()}', expected: identifier")
        negated, key, eq_op, eq_value, set_op, set_values = match.groups()
        if negated:
            if eq_op or set_op:
                raise BadRequestError(f"unable to parse requirement: '{clause.strip()}'")
            requirements.append(Requirement(key, "!exists", frozenset()))
        elif eq_op:
            requirements.append(Requirement(key, eq_op, frozenset({eq_value.strip()})))
        elif set_op:
            values = frozenset(v.strip() for v in set_values.split(",") if v.strip())
            requirements.append(Requirement(key, set_op, values))
        else:
            requirements.append(Requirement(key, "exists", frozenset()))
    return LabelSelector(tuple(requirements))


def selector_from_match(selector: Mapping[str, Any] | None) -> LabelSelector:
    """Turn a `metav1.LabelSelector` object (matchLabels/matchExpressions) into a selector."""
    if not selector:
        return LabelSelector()
    requirements = [Requirement(k, "=", frozenset({v})) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in selector.get("matchExpressions") or []:
        requirements.append(Requirement(expr["key"], ops[expr["operator"]], frozenset(expr.get("values") or [])))
    return LabelSelector(tuple(requirements))


def _path_getter(path: str) -> Callable[[Body], Any]:
    parts = path.split(".")

    def get(body: Body) -> Any:
        node: Any = body
        for part in parts:
            if not isinstance(node, Mapping):
                return ""
            node = node.get(part, "")
        return node

    return get


_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
_FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    "Pod": ("status.phase", "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "status.podIP"),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "Job": ("status.successful",),
    "Node": ("spec.unschedulable",),
    "ReplicaSet": ("status.replicas",),
}


@dataclass(frozen=True)
class FieldRequirement:
    path: str
    negated: bool
    value: str

    def matches(self, body: Body) -> bool:
        actual = _path_getter(self.path)(body)
        if self.path == "source" and isinstance(actual, Mapping):
            actual = actual.get("component", "")
        equal = str(actual if actual is not None else "") == self.value
        return equal != self.negated


@dataclass(frozen=True)
class FieldSelector:
    """A parsed `fieldSelector` over the fields the real apiserver indexes for the kind."""

    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, body: Body) -> bool:
        return all(r.matches(body) for r in self.requirements)

    def names(self) -> str | None:
        """The one `metadata.name` asked for, when the selector pins it (a cheap lookup)."""
        for r in self.requirements:
            if r.path == "metadata.name" and not r.negated:
                return r.value
        return None


def parse_field_selector(text: str | None, kind: str) -> FieldSelector:
    """Parse `a=b,c!=d`; a field the kind does not index is a 400, as on a real server."""
    if not text:
        return FieldSelector()
    allowed = _COMMON_FIELDS + _FIELDS_BY_KIND.get(kind, ())
    requirements = []
    for clause in _split_clauses(text):
        for op in ("!=", "==", "="):
            if op in clause:
                path, value = clause.split(op, 1)
                break
        else:
            raise BadRequestError(f"invalid selector: '{text}'; can't understand '{clause}'")
        path = path.strip()
        if path not in allowed:
            raise BadRequestError(f"field label not supported: {path}")
        requirements.append(FieldRequirement(path, op == "!=", value.strip()))
    return FieldSelector(tuple(requirements))
