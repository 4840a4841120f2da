"""The REST verbs on resources: list, get, create, update, patch, delete, deletecollection.

Each handler is a straight line: decode, admit, hand to the store, encode. Watch and log streams
live in streaming.py; subresources other than `status` in subresources.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kfval.embedded.admission.chain import Admission
from kfval.embedded.apiserver import (
    applying,
    decoding,
    fieldvalidation,
    paging,
    parameters,
    patching,
    status,
    tables,
)
from kfval.embedded.apiserver.fieldvalidation import FieldValidation
from kfval.embedded.apiserver.paths import Target
from kfval.embedded.clock import rfc3339
from kfval.embedded.errors import BadRequestError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.store.selectors import parse_field_selector, parse_label_selector
from kfval.embedded.types import Body, ResourceKey, ResourceType


@dataclass(frozen=True)
class Context:
    """What every handler needs."""

    store: Store
    admission: Admission


def json_response(body: Body, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(body, separators=(",", ":")).encode(), content_type="application/json"
    )


def predicate_for(rt: ResourceType, query: Any) -> Callable[[Body], bool] | None:
    labels = parse_label_selector(query.get("labelSelector"))
    fields = parse_field_selector(query.get("fieldSelector"), rt.kind)
    if not labels.requirements and not fields.requirements:
        return None
    return lambda body: labels.matches(body) and fields.matches(body)


def _render(request: web.Request, rt: ResourceType, page: paging.Page, ctx: Context, *, single: bool) -> web.Response:
    if tables.wants_table(request.headers.get("Accept", "")):
        include = request.query.get("includeObject", "Metadata")
        rendered = tables.table(
            rt,
            page.items,
            resource_version=str(page.resource_version),
            now=ctx.store.clock.now(),
            include_object=include,
        )
        rendered["metadata"] = page.list_metadata()
        return json_response(rendered)
    if single:
        return json_response(page.items[0])
    return json_response(
        {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": page.list_metadata(), "items": page.items}
    )


async def list_objects(request: web.Request, target: Target, ctx: Context) -> web.Response:
    query = request.query
    limit = paging.parse_limit(query.get("limit"))
    items, rv = ctx.store.list(target.rt, target.namespace, predicate_for(target.rt, query), read_only=True)
    page = paging.paginate(items, rv, limit=limit, token=query.get("continue", ""), history=ctx.store.history)
    return _render(request, target.rt, page, ctx, single=False)


async def get_object(request: web.Request, target: Target, ctx: Context) -> web.Response:
    assert target.name is not None
    body = ctx.store.get(target.rt, target.namespace, target.name)
    page = paging.Page([body], int(body["metadata"]["resourceVersion"]))
    return _render(request, target.rt, page, ctx, single=True)


def _dry_run(request: web.Request) -> bool:
    return "All" in request.query.getall("dryRun", [])


def _check_identity(target: Target, body: Body) -> None:
    """The body's kind, apiVersion and namespace must agree with the URL, as on the real server."""
    rt = target.rt
    kind, api_version = body.get("kind"), body.get("apiVersion")
    if api_version and api_version != rt.api_version:
        raise BadRequestError(
            f"the API version in the data ({api_version}) does not match the expected API version ({rt.api_version})"
        )
    if kind and kind != rt.kind:
        raise BadRequestError(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
    meta = body.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise BadRequestError("metadata must be an object")
    body_ns = meta.get("namespace")
    if rt.namespaced and body_ns and target.namespace and body_ns != target.namespace:
        raise BadRequestError("the namespace of the provided object does not match the namespace sent on the request")
    if target.name is not None and meta.get("name") and meta["name"] != target.name:
        raise BadRequestError(
            f"the name of the object ({meta['name']}) does not match the name on the URL ({target.name})"
        )
    if target.name is not None:
        meta.setdefault("name", target.name)


async def create_object(request: web.Request, target: Target, ctx: Context) -> web.Response:
    fields = FieldValidation.of(request, "CreateOptions")
    data = await decoding.read_bytes(request)
    body = decoding.decode_object(data, decoding.media_type(request))
    _check_identity(target, body)
    fields.check_body(target.rt, body, data, decoding.media_type(request))
    if target.rt.namespaced and target.namespace:
        body["metadata"]["namespace"] = target.namespace
    body = _record_manager(request, ctx, None, body, subresource="")
    return json_response(_create(ctx, target, body, dry_run=_dry_run(request)), 201)


def _create(ctx: Context, target: Target, body: Body, *, dry_run: bool) -> Body:
    """The store admits what it creates; a dry run stops after admission."""
    if dry_run:
        return ctx.admission.admit(target.rt, body, operation="CREATE", old=None, namespace=target.namespace)
    return ctx.store.create(target.rt, body, namespace=target.namespace)


def _update(ctx: Context, target: Target, body: Body, *, dry_run: bool) -> Body:
    """The store admits what it replaces (but `/status`); a dry run stops after admission."""
    assert target.name is not None
    if dry_run:
        current = ctx.store.get(target.rt, target.namespace, target.name)
        if target.subresource == "status":
            return body
        return ctx.admission.admit(target.rt, body, operation="UPDATE", old=current, namespace=target.namespace)
    return ctx.store.replace(target.rt, body, namespace=target.namespace, subresource=target.subresource)


async def replace_object(request: web.Request, target: Target, ctx: Context) -> web.Response:
    fields = FieldValidation.of(request, "UpdateOptions")
    data = await decoding.read_bytes(request)
    body = decoding.decode_object(data, decoding.media_type(request))
    _check_identity(target, body)
    fields.check_body(target.rt, body, data, decoding.media_type(request))
    assert target.name is not None
    current = ctx.store.get(target.rt, target.namespace, target.name)
    body = _record_manager(request, ctx, current, body, subresource=target.subresource or "")
    return json_response(_update(ctx, target, body, dry_run=_dry_run(request)))


def _record_manager(request: web.Request, ctx: Context, old: Body | None, new: Body, *, subresource: str) -> Body:
    """A create, update or non-apply patch makes its writer an `Update` manager of what it changed.

    The manager is the `fieldManager` parameter, else the client's User-Agent up to its first `/`
    (`kubectl-edit`, `OpenAPI-Generator`), as kube-apiserver names it.
    """
    manager = request.query.get("fieldManager") or request.headers.get("User-Agent", "").split("/", 1)[0]
    now = rfc3339(ctx.store.clock.now())
    return applying.update_managed_fields(old, new, manager=manager or "unknown", now=now, subresource=subresource)


async def patch_object(request: web.Request, target: Target, ctx: Context) -> web.Response:
    assert target.name is not None
    fields = FieldValidation.of(request, "PatchOptions")
    content_type = decoding.media_type(request)
    data = await decoding.read_bytes(request)
    rt = target.rt
    is_custom = ctx.store.catalog.is_custom(rt)
    if content_type == "application/apply-patch+yaml":
        return _server_side_apply(request, target, ctx, data)
    if content_type not in decoding.PATCH_TYPES:
        raise patching.unsupported(is_custom=is_custom)
    current = ctx.store.get(rt, target.namespace, target.name)
    patched = patching.apply_patch(current, data, content_type, kind=rt.kind, is_custom=is_custom)
    _check_identity(target, patched)  # a patch may not rename the object or move it elsewhere (400)
    fields.check_patched(rt, patched, data, content_type)
    patched = _record_manager(request, ctx, current, patched, subresource=target.subresource or "")
    return json_response(_update(ctx, target, patched, dry_run=_dry_run(request)))


def _server_side_apply(request: web.Request, target: Target, ctx: Context, data: bytes) -> web.Response:
    assert target.name is not None
    applied = decoding.parse_text(data, yaml_allowed=True)
    if not isinstance(applied, dict):
        raise BadRequestError("the apply configuration must be an object")
    _check_identity(target, applied)
    manager = request.query.get("fieldManager")
    if not manager:
        raise BadRequestError("PATCH, application/apply-patch+yaml requires a fieldManager")
    fieldvalidation.check_applied(target.rt, applied, name=target.name, namespace=target.namespace)
    force = parameters.flag(request.query, "force")
    now = rfc3339(ctx.store.clock.now())
    try:
        current: Body | None = ctx.store.get(target.rt, target.namespace, target.name)
    except NotFoundError:
        current = None
    merged = applying.server_side_apply(current, applied, manager=manager, force=force, kind=target.rt.kind, now=now)
    if current is None:
        if target.rt.namespaced and target.namespace:
            merged.setdefault("metadata", {})["namespace"] = target.namespace
        return json_response(_create(ctx, target, merged, dry_run=_dry_run(request)), 201)
    return json_response(_update(ctx, target, merged, dry_run=_dry_run(request)))


def delete_options(request: web.Request, data: bytes) -> Body:
    """DeleteOptions from the body (JSON or protobuf) and the query, the query winning."""
    options: Body = {}
    if data.strip():
        options = decoding.decode_object(data, decoding.media_type(request))
    query = request.query
    if "propagationPolicy" in query:
        options["propagationPolicy"] = query["propagationPolicy"]
    if "gracePeriodSeconds" in query:
        options["gracePeriodSeconds"] = parameters.integer(query, "gracePeriodSeconds")
    if "orphanDependents" in query:
        options["orphanDependents"] = parameters.flag(query, "orphanDependents")
    if options.get("orphanDependents") is True and "propagationPolicy" not in options:
        options["propagationPolicy"] = "Orphan"
    return options


RETURNS_DELETED_OBJECT = frozenset({ResourceKey("", "pods"), ResourceKey("", "services")})
"""Kinds whose registry sets ReturnDeletedObject: a finished delete answers with the object, not a Status."""


def _deleted(rt: ResourceType, body: Body, *, gone: bool, options: Body) -> web.Response:
    """What kube-apiserver answers a DELETE with (registry/generic/registry/store.go, handlers/delete.go).

    A deletion still pending (grace period, finalizers) answers with the object; a finished one with
    the object for ReturnDeletedObject kinds and a Success Status naming it otherwise; 202 only when
    the object lingers and the client asked for `orphanDependents: false`.
    """
    code = 202 if not gone and options.get("orphanDependents") is False else 200
    if not gone or rt.key in RETURNS_DELETED_OBJECT:
        return json_response(body, code)
    meta = body.get("metadata") or {}
    details = {"name": meta.get("name", ""), "group": rt.group, "kind": rt.resource, "uid": meta.get("uid", "")}
    return json_response(status.success_body({k: v for k, v in details.items() if v}), code)


def _would_be_gone(rt: ResourceType, body: Body, options: Body) -> bool:
    """A dry run's guess at the outcome: finalizers, foreground or orphan deletion and pod grace keep it."""
    meta = body.get("metadata") or {}
    if meta.get("finalizers") or options.get("propagationPolicy") in ("Foreground", "Orphan"):
        return False
    if rt.key == ResourceKey("", "namespaces"):
        return False
    return not (rt.key == ResourceKey("", "pods") and (body.get("spec") or {}).get("nodeName"))


async def delete_object(request: web.Request, target: Target, ctx: Context) -> web.Response:
    assert target.name is not None
    options = delete_options(request, await decoding.read_bytes(request))
    if _dry_run(request):
        current = ctx.store.get(target.rt, target.namespace, target.name)
        return _deleted(target.rt, current, gone=_would_be_gone(target.rt, current, options), options=options)
    body, gone = ctx.store.delete(
        target.rt,
        target.namespace,
        target.name,
        propagation=options.get("propagationPolicy"),
        grace_period_seconds=options.get("gracePeriodSeconds"),
        preconditions=options.get("preconditions"),
    )
    return _deleted(target.rt, body, gone=gone, options=options)


async def delete_collection(request: web.Request, target: Target, ctx: Context) -> web.Response:
    """Delete every matching object (a dry run deletes nothing) and answer with the list of them."""
    options = delete_options(request, await decoding.read_bytes(request))
    items, _rv = ctx.store.list(target.rt, target.namespace, predicate_for(target.rt, request.query))
    deleted = []
    for item in items:
        meta = item["metadata"]
        if _dry_run(request):
            deleted.append(item)
            continue
        body, _gone = ctx.store.delete(
            target.rt,
            meta.get("namespace"),
            meta["name"],
            propagation=options.get("propagationPolicy"),
            grace_period_seconds=options.get("gracePeriodSeconds"),
        )
        deleted.append(body)
    return json_response(
        {
            "kind": target.rt.list_kind,
            "apiVersion": target.rt.api_version,
            "metadata": {"resourceVersion": str(ctx.store.resource_version)},
            "items": deleted,
        }
    )
