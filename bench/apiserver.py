"""Latency of the embedded API server next to a plain aiohttp echo server on the same machine.

Prints p50 and p99 of create, get, list (1,000 objects) and watch-event delivery for both, and
their ratios, measured in one run with the same client, so the figures say what the cluster's own
work (admission, store, encoding, fan-out) costs on top of aiohttp itself. Both serve plain HTTP on
loopback (the cluster with --no-tls), so TLS is not part of either figure.

    .venv/bin/python bench/apiserver.py [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from kfval.embedded import launch
from sampling import percentile

LIST_SIZE = 1000


async def timed(samples: int, call: Callable[[int], Awaitable[None]]) -> list[float]:
    result = []
    for i in range(samples):
        start = time.perf_counter()
        await call(i)
        result.append((time.perf_counter() - start) * 1000)
    return result


def configmap(i: int, prefix: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{prefix}-{i}"}, "data": {"k": "v" * 64}}


class Target:
    """One server under test: how to create, get, list and watch against it."""

    def __init__(self, session: aiohttp.ClientSession, base: str, *, cluster: bool) -> None:
        self.session, self.base, self.cluster = session, base, cluster
        self.collection = f"{base}/api/v1/namespaces/default/configmaps" if cluster else f"{base}/echo"

    async def create(self, body: dict[str, Any]) -> None:
        async with self.session.post(self.collection, json=body) as response:
            assert response.status in (200, 201), await response.text()
            await response.read()

    async def get(self, name: str) -> None:
        url = f"{self.collection}/{name}" if self.cluster else f"{self.base}/object"
        async with self.session.get(url) as response:
            assert response.status == 200
            await response.read()

    async def list(self) -> None:
        url = f"{self.collection}?labelSelector=bench%3Dlist" if self.cluster else f"{self.base}/list"
        async with self.session.get(url) as response:
            body = await response.json()
            assert len(body["items"]) >= LIST_SIZE


async def watch_latency(target: Target, samples: int) -> list[float]:
    """Time from sending a create to reading its event off an open watch."""
    url = f"{target.collection}?watch=true&resourceVersion=" if target.cluster else f"{target.base}/watch"
    if target.cluster:
        async with target.session.get(target.collection) as response:
            url += (await response.json())["metadata"]["resourceVersion"]
    result = []
    async with target.session.get(url) as stream:
        for i in range(samples):
            start = time.perf_counter()
            await target.create(configmap(i, "watch"))
            await stream.content.readline()
            result.append((time.perf_counter() - start) * 1000)
    return result


async def measure(target: Target, samples: int) -> dict[str, list[float]]:
    figures = {"create": await timed(samples, lambda i: target.create(configmap(i, "create")))}
    figures["get"] = await timed(samples, lambda i: target.get(f"create-{i % samples}"))
    if target.cluster:
        for i in range(LIST_SIZE):
            body = configmap(i, "list")
            body["metadata"]["labels"] = {"bench": "list"}
            await target.create(body)
    figures["list (1,000)"] = await timed(max(10, samples // 10), lambda _i: target.list())
    figures["watch delivery"] = await watch_latency(target, samples)
    return figures


def echo_app() -> web.Application:
    """The baseline: aiohttp doing nothing but echo, serve canned JSON, and broadcast."""
    item = configmap(0, "object")
    listing = json.dumps({"items": [configmap(i, "list") for i in range(LIST_SIZE)]}).encode()
    watchers: list[web.StreamResponse] = []

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        for watcher in watchers:
            await watcher.write(json.dumps({"type": "ADDED", "object": json.loads(body)}).encode() + b"\n")
        return web.Response(body=body, status=201, content_type="application/json")

    async def get(_request: web.Request) -> web.Response:
        return web.json_response(item)

    async def lister(_request: web.Request) -> web.Response:
        return web.Response(body=listing, content_type="application/json")

    async def watch(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        watchers.append(response)
        while not request.transport or not request.transport.is_closing():
            await asyncio.sleep(0.2)
        return response

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_get("/object", get)
    app.router.add_get("/list", lister)
    app.router.add_get("/watch", watch)
    return app


async def run(samples: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    runner = web.AppRunner(echo_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as session:
        baseline = await measure(Target(session, f"http://127.0.0.1:{port}", cluster=False), samples)
    await runner.cleanup()
    with tempfile.TemporaryDirectory() as state, launch.Cluster(Path(state), die_with_parent=True, tls=False) as info:
        token = yaml.safe_load(info.kubeconfig.read_text())["users"][0]["user"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            cluster = await measure(Target(session, info.server, cluster=True), samples)
    return cluster, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    cluster, baseline = asyncio.run(run(args.samples))
    print(f"{'operation':<16}{'kfval p50':>11}{'p99':>9}{'echo p50':>11}{'p99':>9}{'ratio p50':>11}{'p99':>8}  (ms)")
    for op, samples in cluster.items():
        c50, c99 = statistics.median(samples), percentile(samples, 0.99)
        b50, b99 = statistics.median(baseline[op]), percentile(baseline[op], 0.99)
        print(f"{op:<16}{c50:>11.2f}{c99:>9.2f}{b50:>11.2f}{b99:>9.2f}{c50 / b50:>10.1f}x{c99 / b99:>7.1f}x")


if __name__ == "__main__":
    main()
