"""The suite's own client (kfval.kube) through the fault proxy: waits ride out refused, reset, stalled and
503-answered connections and see what changed meanwhile; a create whose answer was lost is read back, not
made twice; an outage past its bound fails naming the server, how long and the last error; an exec in a
stalled connection is given up instead of hanging.

The cluster is changed behind the proxy's back (a direct connection) while the suite's is cut off, so the
change a wait needs happens during the outage: the wait can only see it by re-listing afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded import launch
from kfval.kube import checks, client, errors, waiting
from tests.faults.proxy import FaultProxy
from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.integration
Body = dict[str, Any]


@pytest.fixture
def proxy(cluster: launch.ClusterInfo) -> Iterator[FaultProxy]:
    with FaultProxy.for_cluster(cluster) as running:
        yield running


def connect_through(
    proxy: FaultProxy, cluster: launch.ClusterInfo, tmp_path: Path, *, bound: float
) -> client.Connection:
    kubeconfig = proxy.kubeconfig(cluster.kubeconfig, tmp_path / "kubeconfig")
    return client.connect(
        kubeconfig=kubeconfig, context=None, in_cluster=False, cache_dir=tmp_path / "cache", outage_bound_seconds=bound
    )


@pytest.fixture
def through(proxy: FaultProxy, cluster: launch.ClusterInfo, tmp_path: Path) -> Iterator[client.Connection]:
    connection = connect_through(proxy, cluster, tmp_path, bound=30.0)
    yield connection
    connection.close()


@pytest.fixture
def space(conn: client.Connection) -> Iterator[str]:
    name = f"faults-{uuid.uuid4().hex[:8]}"
    conn.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    conn.delete("v1", "Namespace", name)


def config_map(name: str, namespace: str, **data: str) -> Body:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def marked_done(objects: Mapping[str, Body]) -> checks.Verdict:
    done = any((body.get("data") or {}).get("state") == "done" for body in objects.values())
    return checks.Verdict(done=done, failure=None, waiting_for="the ConfigMap to say done")


class Waiter(threading.Thread):
    """`wait_until` on the suite's connection, in a thread, so the test can play faults meanwhile."""

    def __init__(self, conn: client.Connection, namespace: str) -> None:
        super().__init__(name="waiter", daemon=True)
        self.conn, self.namespace = conn, namespace
        self.result: Mapping[str, Body] | BaseException | None = None
        self.ended = 0.0

    def run(self) -> None:
        try:
            self.result = waiting.wait_until(
                self.conn,
                api_version="v1",
                kind="ConfigMap",
                namespace=self.namespace,
                name="signal",
                check=marked_done,
                timeout_seconds=60,
                what="the ConfigMap signal to say done",
            )
        except BaseException as error:  # handed to the test thread, which asserts on it
            self.result = error
        self.ended = time.monotonic()


def wait_through(
    fault: str, seconds: float, *, conn: client.Connection, direct: client.Connection, proxy: FaultProxy, space: str
) -> tuple[Waiter, float]:
    """Start a wait, play `fault` for `seconds`, finish the awaited change during it; the waiter and the fault's end."""
    direct.create(config_map("signal", space, state="waiting"))
    waiter = Waiter(conn, space)
    waiter.start()
    time.sleep(1.0)  # the waiter is in its watch now
    getattr(proxy, fault)(seconds)
    ends = time.monotonic() + seconds
    time.sleep(0.5)
    direct.patch("v1", "ConfigMap", "signal", space, {"data": {"state": "done"}})
    waiter.join(90)
    assert not waiter.is_alive(), f"the wait hung through a {fault}"
    assert isinstance(waiter.result, Mapping), waiter.result
    return waiter, ends


@pytest.mark.parametrize("fault", ["outage", "unavailable", "stall"])
def test_a_wait_sees_the_change_made_during_the_fault(
    fault: str, proxy: FaultProxy, through: client.Connection, conn: client.Connection, space: str
) -> None:
    waiter, ends = wait_through(fault, 3.0, conn=through, direct=conn, proxy=proxy, space=space)
    assert waiter.ended >= ends - 0.2, "the wait ended before the fault did: it cannot have seen the change then"
    [outage] = through.outages.drain()
    assert outage.over and outage.seconds >= 2.5
    assert proxy.server in outage.describe()
    assert any(what.startswith(("watch", "list")) for what, _count in outage.retried), outage.retried
    expected = {"outage": "Connection", "unavailable": "503", "stall": "Timeout"}[fault]
    assert expected in outage.last_error, outage.last_error
    print(
        f"fault timings: a wait through a 3 s {fault}: it saw the change {waiter.ended - ends:.1f} s after the "
        f"fault ended; outage recorded {outage.seconds:.1f} s"
    )


def test_slow_answers_are_waited_for_not_counted_as_an_outage(
    proxy: FaultProxy, through: client.Connection, conn: client.Connection, space: str
) -> None:
    proxy.slow(5.0, delay=0.5)
    started = time.monotonic()
    through.create(config_map("slow", space, state="done"))
    assert through.get("v1", "ConfigMap", "slow", space)["data"] == {"state": "done"}
    assert time.monotonic() - started >= 0.9
    assert through.outages.drain() == []


def test_a_create_whose_answer_was_lost_is_read_back_not_made_twice(
    proxy: FaultProxy, through: client.Connection, conn: client.Connection, space: str
) -> None:
    through.list("v1", "ConfigMap", space)  # a connection is open: its next request loses its answer
    proxy.lose_answers(2.0)
    body = config_map("", space, state="made")
    del body["metadata"]["name"]
    body["metadata"].update(generateName="lost-", labels={"test": space})
    made = through.create(body, space)
    items = conn.list("v1", "ConfigMap", space, label_selector=f"test={space}")["items"]
    assert [item["metadata"]["name"] for item in items] == [made["metadata"]["name"]]
    [outage] = through.outages.drain()
    assert dict(outage.retried).get(f'create ConfigMap in namespace "{space}"', 0) >= 1


def test_a_named_create_and_a_delete_whose_answers_were_lost_are_read_back(
    proxy: FaultProxy, through: client.Connection, conn: client.Connection, space: str
) -> None:
    through.list("v1", "ConfigMap", space)
    proxy.lose_answers(2.0)
    made = through.create(config_map("named", space, state="made"), space)
    assert made["metadata"]["name"] == "named"
    assert "annotations" not in made["metadata"], "a named object must carry no request mark"
    through.list("v1", "ConfigMap", space)
    proxy.lose_answers(2.0)
    through.delete("v1", "ConfigMap", "named", space)
    with pytest.raises(errors.NotFoundError):
        conn.get("v1", "ConfigMap", "named", space)


def test_an_outage_past_its_bound_names_the_server_the_time_and_the_last_error(
    proxy: FaultProxy, cluster: launch.ClusterInfo, tmp_path: Path, space: str
) -> None:
    short = connect_through(proxy, cluster, tmp_path, bound=3.0)
    try:
        short.list("v1", "ConfigMap", space)
        proxy.outage(8.0)
        started = time.monotonic()
        with pytest.raises(errors.ApiOutageError) as raised:
            short.get("v1", "ConfigMap", "anything", space)
        took = time.monotonic() - started
    finally:
        short.close()
    message = str(raised.value)
    assert 3.0 <= took < 5.0, took
    assert proxy.server in message and "timeouts.api_outage (3 s)" in message
    assert "has been unreachable for 3." in message
    assert "last error: ConnectionRefusedError" in message, message


SLEEPER = """
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "exec sleep 3600"]
"""


def test_an_exec_runs_through_the_proxy_and_is_given_up_in_a_stall_instead_of_hanging(
    proxy: FaultProxy, through: client.Connection, kubectl: Kubectl, namespace: str
) -> None:
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=SLEEPER)
    kubectl.run("wait", "-n", namespace, "--for=condition=Ready", "pod/sleeper", "--timeout=60s")
    ran = through.exec("sleeper", namespace, ["echo", "through"], container=None, timeout_seconds=10)
    assert (ran.exit_code, ran.stdout) == (0, "through\n")
    proxy.stall(60.0)
    started = time.monotonic()
    with pytest.raises(errors.ClusterUnreachableError) as raised:
        through.exec("sleeper", namespace, ["echo", "stalled"], container=None, timeout_seconds=1)
    took = time.monotonic() - started
    assert took < 1 + client.EXEC_MARGIN_SECONDS + 2, took
    assert "the connection stalled" in str(raised.value)
