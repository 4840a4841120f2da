"""The `fieldValidation` query parameter: what a write does about fields the server does not know.

kubectl sends `Strict` by default (`--validate=warn` sends `Warn`, `--validate=false` `Ignore`);
a client that sends none gets `Warn` (kube-apiserver v1.27+). The server finds unknown fields while
decoding (a custom resource's pruning by its schema, ObjectMeta for every kind; fields of built-in
specs are not known here) and duplicate fields in a JSON body, then:

* create and update: `Strict` is 400 `Widget in version "v1" cannot be handled as a Widget: strict
  decoding error: unknown field "spec.foo", unknown field "spec.bar"`; `Warn` sends each as a
  `Warning` header (`unknown field "spec.foo"`); `Ignore` drops them silently;
* JSON and merge patches: `Strict` is 422 `patch: Invalid value: "<patched object>": strict decoding
  error: ...`, the others as above;
* server-side apply: an unknown field is 500 `failed to create typed patch object (ns/name; gvk):
  .spec.foo: field not declared in schema`, whatever the directive (the typed conversion is strict).

The fields are dropped later, by admission, which prunes every write the same way.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kfval.embedded import warning
from kfval.embedded.admission import pruning, validation
from kfval.embedded.errors import BadRequestError, InvalidError, UnclassifiedError
from kfval.embedded.types import Body, ResourceType

STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"
DIRECTIVES = ("", IGNORE, STRICT, WARN)
JSON_MEDIA_TYPES = frozenset(
    {"application/json", "application/merge-patch+json", "application/strategic-merge-patch+json"}
)
"""The bodies whose repeated keys are reported (a JSON patch's operations are not an object)."""


class _Fields(dict[str, Any]):
    """A decoded JSON object that remembers the keys it saw twice."""

    repeated: list[str]


def _remember(pairs: list[tuple[str, Any]]) -> _Fields:
    decoded = _Fields()
    decoded.repeated = []
    for key, value in pairs:
        if key in decoded and key not in decoded.repeated:
            decoded.repeated.append(key)
        decoded[key] = value
    return decoded


def duplicate_fields(data: bytes) -> list[str]:
    """The paths of keys a JSON document repeats (`spec.foo`, `spec.items[0].name`), as kjson reports them."""
    try:
        document = json.loads(data, object_pairs_hook=_remember)
    except ValueError:
        return []
    return list(_repeated(document, ""))


def _repeated(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, _Fields):
        found += [f"{path}.{key}" if path else key for key in value.repeated]
        for key, item in value.items():
            found += _repeated(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _repeated(item, f"{path}[{index}]")
    return found


def unknown_fields(rt: ResourceType, body: Body) -> list[str]:
    """The fields decoding drops: by the CRD's schema for a custom resource, ObjectMeta's for any kind."""
    return pruning.decode(rt, copy.deepcopy(body))


def _go_print(value: Any) -> str:
    """A decoded JSON value as Go's `%+v` prints a map[string]interface{}."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_go_print(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_print(item) for item in value) + "]"
    if value is None:
        return "<nil>"
    return value if isinstance(value, str) else validation.go_value(value)


@dataclass(frozen=True)
class FieldValidation:
    """One request's directive, applied to what it sends."""

    directive: str

    @classmethod
    def of(cls, request: web.Request, options_kind: str) -> FieldValidation:
        """The request's directive; 422 for a value that is none of them, as the options validation words it."""
        value = request.query.get("fieldValidation", "")
        if value not in DIRECTIVES:
            cause = validation.not_supported("fieldValidation", value, DIRECTIVES)
            raise InvalidError(options_kind, "", [cause], group="meta.k8s.io")
        return cls(value or WARN)

    def _problems(self, rt: ResourceType, body: Body, data: bytes, content_type: str) -> list[str]:
        if self.directive == IGNORE:
            return []
        repeated = duplicate_fields(data) if content_type in JSON_MEDIA_TYPES else []
        return [f'duplicate field "{path}"' for path in repeated] + [
            f'unknown field "{path}"' for path in unknown_fields(rt, body)
        ]

    def _warn(self, problems: list[str]) -> None:
        for problem in problems:
            warning.add(problem)

    def check_body(self, rt: ResourceType, body: Body, data: bytes, content_type: str) -> None:
        """A create or update body: 400 under Strict, warnings under Warn."""
        problems = self._problems(rt, body, data, content_type)
        if problems and self.directive == STRICT:
            raise BadRequestError(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"strict decoding error: {', '.join(problems)}"
            )
        self._warn(problems)

    def check_patched(self, rt: ResourceType, patched: Body, patch: bytes, content_type: str) -> None:
        """The object a JSON, merge or strategic merge patch made: 422 under Strict, warnings under Warn."""
        problems = self._problems(rt, patched, patch, content_type)
        if problems and self.directive == STRICT:
            strategic = content_type == "application/strategic-merge-patch+json"
            shown = (
                _go_print(json.loads(patch))
                if strategic
                else json.dumps(patched, sort_keys=True, separators=(",", ":"))
            )
            detail = f"strict decoding error: {', '.join(problems)}"
            raise InvalidError("", "", [validation.invalid("patch", shown, detail)])
        self._warn(problems)


def check_applied(rt: ResourceType, applied: Body, *, name: str, namespace: str | None) -> None:
    """Server-side apply converts its configuration to the schema's types: an unknown field is an error."""
    unknown = unknown_fields(rt, applied)
    if not unknown:
        return
    errors = [f".{path}: field not declared in schema" for path in unknown]
    text = errors[0] if len(errors) == 1 else "\n  ".join(["errors:", *errors])
    gvk = f"{rt.group}/{rt.version}, Kind={rt.kind}"
    raise UnclassifiedError(f"failed to create typed patch object ({namespace or ''}/{name}; {gvk}): {text}")
