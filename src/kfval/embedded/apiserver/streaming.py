"""Long-lived responses: watch streams and container log streams.

Watch framing is what every client splits on: chunked `application/json`, one compact JSON event
per line, flushed per event, closed cleanly at `timeoutSeconds` (k8s-api-surface.md §4.4). A
watcher that went away is noticed at the next idle tick, so abandoned watches do not linger.
Deadlines, idle ticks and bookmarks are measured on the store's clock.
"""

from __future__ import annotations

import json
import random
from typing import Any

from aiohttp import web

from kfval.embedded.admission import validation
from kfval.embedded.apiserver import parameters, tables
from kfval.embedded.apiserver.paths import Target
from kfval.embedded.apiserver.resources import Context, predicate_for
from kfval.embedded.apiserver.status import watch_error_event
from kfval.embedded.clock import within
from kfval.embedded.errors import BadRequestError, GoneError, InvalidError
from kfval.embedded.types import Body, LogQuery, LogSource, ResourceType, WatchEvent

IDLE_TICK_SECONDS = 5.0
BOOKMARK_EVERY_SECONDS = 30.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _since(raw: str | None) -> int | None:
    if raw in (None, "", "0"):
        return None
    assert raw is not None
    if not raw.isdigit():
        raise BadRequestError(f"invalid resource version: {raw}")
    return int(raw)


def _timeout(raw: str | None) -> float:
    if raw is None:
        return random.uniform(1800.0, 3600.0)
    try:
        return max(0.0, float(raw))
    except ValueError as error:
        raise BadRequestError(f"invalid timeoutSeconds: {raw}") from error


class _Writer:
    """Encodes events for one watch, as plain objects or as one-row Tables."""

    def __init__(self, response: web.StreamResponse, rt: ResourceType, ctx: Context, *, table: bool) -> None:
        self.response = response
        self.rt = rt
        self.ctx = ctx
        self.table = table

    async def send(self, payload: dict[str, Any]) -> None:
        await self.response.write(json.dumps(payload, separators=(",", ":")).encode() + b"\n")

    async def event(self, event: WatchEvent) -> None:
        obj: Body = event.object
        if self.table:
            obj = tables.table(
                self.rt,
                [obj],
                resource_version=str(event.resource_version),
                now=self.ctx.store.clock.now(),
                include_object="Metadata",
            )
        await self.send({"type": event.type, "object": obj})

    async def bookmark(self, version: int, *, initial_end: bool = False) -> None:
        meta: Body = {"resourceVersion": str(version)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        await self.send(
            {"type": "BOOKMARK", "object": {"kind": self.rt.kind, "apiVersion": self.rt.api_version, "metadata": meta}}
        )


async def watch(request: web.Request, target: Target, ctx: Context) -> web.StreamResponse:
    query = request.query
    since = _since(query.get("resourceVersion"))
    send_initial = parameters.flag(query, "sendInitialEvents")
    if send_initial:
        since = None
    bookmarks = parameters.flag(query, "allowWatchBookmarks")
    deadline = ctx.store.clock.monotonic() + _timeout(query.get("timeoutSeconds"))
    predicate = predicate_for(target.rt, query)
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    writer = _Writer(response, target.rt, ctx, table=tables.wants_table(request.headers.get("Accept", "")))
    try:
        subscription = ctx.store.watch(target.rt, target.namespace, since=since, predicate=predicate)
    except GoneError as error:
        await response.prepare(request)
        await writer.send(watch_error_event(error))
        return response
    await response.prepare(request)
    try:
        await _pump(
            request, writer, subscription, deadline, initial_end=send_initial, bookmarks=bookmarks and not writer.table
        )
    except (ConnectionResetError, ConnectionError):
        pass
    except GoneError as error:
        await writer.send(watch_error_event(error))
    finally:
        subscription.close()
    return response


async def _pump(
    request: web.Request, writer: _Writer, subscription: Any, deadline: float, *, initial_end: bool, bookmarks: bool
) -> None:
    clock = writer.ctx.store.clock
    remaining_initial = subscription.initial_count
    last_sent = clock.monotonic()
    if initial_end and remaining_initial == 0:
        await writer.bookmark(subscription.start_version, initial_end=True)
    iterator = subscription.__aiter__()
    while (left := deadline - clock.monotonic()) > 0:
        try:
            event = await within(clock, iterator.__anext__(), min(left, IDLE_TICK_SECONDS))
        except TimeoutError:
            if request.transport is None or request.transport.is_closing():
                return
            if bookmarks and clock.monotonic() - last_sent >= BOOKMARK_EVERY_SECONDS:
                await writer.bookmark(writer.ctx.store.resource_version)
                last_sent = clock.monotonic()
            continue
        except StopAsyncIteration:
            return
        await writer.event(event)
        last_sent = clock.monotonic()
        if remaining_initial > 0:
            remaining_initial -= 1
            if remaining_initial == 0 and initial_end:
                await writer.bookmark(subscription.start_version, initial_end=True)


def _validate(query: LogQuery) -> None:
    """ValidatePodLogOptions: a 422 about `PodLogOptions`, before anything is read."""
    causes = []
    if query.tail_lines is not None and query.tail_lines < 0:
        causes.append(validation.invalid("tailLines", query.tail_lines, "must be greater than or equal to 0"))
    if query.limit_bytes is not None and query.limit_bytes < 1:
        causes.append(validation.invalid("limitBytes", query.limit_bytes, "must be greater than 0"))
    if query.since_seconds is not None and query.since_time is not None:
        causes.append(validation.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    elif query.since_seconds is not None and query.since_seconds < 1:
        causes.append(validation.invalid("sinceSeconds", query.since_seconds, "must be greater than 0"))
    if causes:
        raise InvalidError("PodLogOptions", query.pod, causes)


async def logs(request: web.Request, target: Target, source: LogSource) -> web.StreamResponse:
    """`pods/log`: errors surface before the first byte, so they still become Status objects."""
    assert target.name is not None and target.namespace is not None
    query = LogQuery(
        namespace=target.namespace,
        pod=target.name,
        container=request.query.get("container") or None,
        follow=parameters.flag(request.query, "follow"),
        previous=parameters.flag(request.query, "previous"),
        timestamps=parameters.flag(request.query, "timestamps"),
        tail_lines=parameters.integer(request.query, "tailLines"),
        since_seconds=parameters.integer(request.query, "sinceSeconds"),
        since_time=parameters.timestamp(request.query, "sinceTime"),
        limit_bytes=parameters.integer(request.query, "limitBytes"),
    )
    _validate(query)
    chunks = source.read(query).__aiter__()
    try:
        first: bytes | None = await chunks.__anext__()
    except StopAsyncIteration:
        first = None
    response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    if first is None:
        return response
    try:
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
    except (ConnectionResetError, ConnectionError):
        pass
    return response
