"""`Connection.call` on a fake transport: only a real answer of the server ends an outage (a kind found in
the discovery cache does not), an answer that says no is raised at once, an exec is sent once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from kfval.kube import client, errors, outages

REFUSED = ConnectionRefusedError(111, "Connection refused")


class FakeApi:
    """Stands in for the bounded ApiClient: only its answer count is read by `call`."""

    answers = 0


def connection() -> tuple[client.Connection, FakeApi, list[float]]:
    slept: list[float] = []
    ridden = outages.Outages(
        "https://api:6443", "ctx", bound_seconds=30, sleep=slept.append, wall_clock=lambda: datetime.now(UTC)
    )
    ridden.answered()
    api = FakeApi()
    conn = client.Connection(
        api,  # type: ignore[arg-type]
        server="https://api:6443",
        context="ctx",
        cache_file=Path("/nonexistent"),
        outages=ridden,
    )
    return conn, api, slept


def failing_once(then: Any, *, api: FakeApi | None = None) -> Any:
    tries = []

    def request() -> Any:
        tries.append(1)
        if len(tries) == 1:
            raise REFUSED
        if api is not None:
            api.answers += 1
        return then

    return request


def test_an_answer_of_the_server_ends_the_outage() -> None:
    conn, api, slept = connection()
    assert conn.call("get", "pod x", failing_once("pod", api=api)) == "pod"
    [outage] = conn.outages.drain()
    assert outage.over and slept == [outages.FIRST_PAUSE_SECONDS]


def test_a_result_that_needed_no_answer_leaves_the_outage_open() -> None:
    conn, _api, _slept = connection()
    conn.call("get", "pod x", failing_once("pod"))
    conn.call("discover", "Pod (v1)", lambda: "from the discovery cache")
    [outage] = conn.outages.drain()
    assert not outage.over


def test_an_answer_that_says_no_is_raised_at_once() -> None:
    conn, _api, slept = connection()

    def missing() -> Any:
        raise ApiException(status=404, reason="Not Found")

    with pytest.raises(errors.NotFoundError):
        conn.call("get", "pod x", missing)
    assert slept == []


def test_an_exec_is_sent_once() -> None:
    conn, _api, _slept = connection()
    tries = []

    def run() -> Any:
        tries.append(1)
        raise REFUSED

    with pytest.raises(errors.ClusterUnreachableError):
        conn.call("exec", "pod x exec", run)
    assert tries == [1]


class OneAtATimeDiscovery:
    """The dynamic client's discovery as far as `Connection.resource` uses it: it breaks (as the real cache
    does, with a KeyError) when a second lookup runs while one is in progress."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.overlapped = False

    def get(self, *, api_version: str, kind: str) -> Any:
        if self.inside.is_set():
            self.overlapped = True
            raise KeyError("resources")
        self.inside.set()
        time.sleep(0.05)
        self.inside.clear()
        return SimpleNamespace(api_version=api_version, kind=kind, namespaced=True)


def test_kinds_are_looked_up_one_at_a_time_from_several_threads() -> None:
    conn, _api, _slept = connection()
    discovery = OneAtATimeDiscovery()
    conn._dynamic_client = SimpleNamespace(resources=discovery)  # type: ignore[assignment]
    kinds = ["Pod", "PodMetrics", "Service", "ConfigMap"]
    threads = [threading.Thread(target=conn.resource, args=("v1", kind)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not discovery.overlapped
    assert sorted(conn.kind("v1", kind).kind for kind in kinds) == sorted(kinds)
