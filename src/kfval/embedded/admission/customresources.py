"""Custom resources through their CRD's schema, as apiextensions-apiserver decodes and validates them.

Every custom resource kube-apiserver decodes (a request body, a patched object, an object read back
from storage) is pruned and defaulted by its served version's structural schema, so an object
stored before a default existed reads back defaulted. Its strategy then validates, in this order:
ObjectMeta (validation.py, as for every kind), the schema (structural.py), embedded resources and
list types (extensions.py), and last the CEL rules (celrules.py) if the schema has any, which do not
run while a blocking error (Required, Unsupported, Too long, Too many, a wrong type) stands.
"""

from __future__ import annotations

from kfval.embedded.admission import celrules, correlation, defaulting, extensions, pruning, structural, validation
from kfval.embedded.errors import Cause
from kfval.embedded.types import Body, ResourceType

BLOCKING_REASONS = frozenset(
    {"FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong", "FieldValueTooMany", "FieldValueTypeInvalid"}
)
RULES_NOT_CHECKED = (
    "some validation rules were not checked because the object was invalid; correct the existing errors to "
    "complete validation"
)


def read(rt: ResourceType, body: Body) -> None:
    """A stored custom resource as the server hands it out: pruned and defaulted by today's schema."""
    if rt.schema is not None:
        pruning.prune_resource(rt.schema, body)
        defaulting.apply_resource_defaults(rt.schema, body)


def validate(rt: ResourceType, body: Body, *, old: Body | None, earlier: list[Cause]) -> list[Cause]:
    """The schema's causes after the `earlier` (metadata) ones; unchanged values are ratcheted on update."""
    if rt.schema is None:
        return []
    schema = rt.schema
    previous = correlation.MISSING if old is None else old
    causes = structural.validate(schema, body, old=previous)
    causes += extensions.embedded_resources(schema, body)
    if old is None or not extensions.list_types(schema, old):
        causes += extensions.list_types(schema, body)
    if not celrules.has_rules(schema):
        return causes
    if any(cause.reason in BLOCKING_REASONS for cause in [*earlier, *causes]):
        return [*causes, validation.invalid(structural.NO_PATH, None, RULES_NOT_CHECKED, rendered='"null"')]
    return causes + celrules.validate(schema, body, old=previous)
