"""Pod networks: a namespace per pod on a bridge (root), or distinct loopback addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path

import pytest

from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet import network, reaping, sandbox
from kfval.embedded.kubelet.containers import PodNetwork, ProcessSpec, Stream
from tests.support.host import needs_root_and
from tests.support.loop import on_loop
from tests.support.polling import eventually_blocking

needs_namespaces = needs_root_and("ip", "bwrap")

SERVER = (
    "import socket, sys\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 8080)); s.listen(); print('listening', flush=True)\n"
    "while True:\n"
    "    c, _ = s.accept(); c.sendall(sys.argv[1].encode()); c.close()\n"
)


def fetch(address: str, port: int = 8080) -> bytes:
    """What the server at `address` answers, once it listens."""

    def answer() -> bytes:
        with socket.create_connection((address, port), timeout=1.0) as connection:
            return connection.recv(100)

    return eventually_blocking(answer, f"a server on {address}:{port}", interval=0.05, ignoring=(OSError,))


def spec_in(pod: PodNetwork, *argv: str) -> ProcessSpec:
    return ProcessSpec(argv=argv, env={}, workdir="/", mounts=(), hostname="pod", network=pod)


def test_pod_subnet_is_a_slash_24_of_the_pod_network_avoiding_routed_ones() -> None:
    first = network.pod_subnet("kf1234-", taken=set())
    assert first.prefixlen == 24
    assert first.subnet_of(network.POD_NETWORK)
    assert network.pod_subnet("kf1234-", taken={first}) != first
    with pytest.raises(network.NetworkError):
        network.pod_subnet("kf1234-", taken={network.POD_NETWORK})


def test_address_pool_reuses_released_addresses_lowest_first() -> None:
    pool = network.AddressPool(ipaddress.IPv4Network("10.244.7.0/24"), reserved=1)
    assert [str(pool.allocate(uid)) for uid in ("a", "b", "a")] == ["10.244.7.2", "10.244.7.3", "10.244.7.2"]
    pool.release("a")
    assert str(pool.allocate("c")) == "10.244.7.2"


@on_loop
async def test_loopback_network_gives_distinct_127_addresses(caplog: pytest.LogCaptureFixture) -> None:
    loopback = network.LoopbackNetwork()
    assert "collide" in caplog.text
    first, second = await loopback.setup("uid-1"), await loopback.setup("uid-2")
    assert first.netns is None
    assert first.ip != second.ip
    assert ipaddress.IPv4Address(first.ip) in network.LOOPBACK_POD_NETWORK
    await loopback.close()


@needs_namespaces
@on_loop
async def test_two_pods_listen_on_the_same_port_and_reach_each_other(tmp_path: Path) -> None:
    prefix = sandbox.cluster_prefix(tmp_path)
    pods = await network.detect_network(prefix)
    assert isinstance(pods, network.NamespacedNetwork)
    box = sandbox.BubblewrapSandbox(tmp_path, SystemClock())
    try:
        first, second = await pods.setup("11111111-aaaa"), await pods.setup("22222222-bbbb")
        assert first.netns == f"{prefix}11111111"
        servers = [
            await box.start(spec_in(pod, "python3", "-c", SERVER, name), print_nothing)
            for pod, name in ((first, "first"), (second, "second"))
        ]
        assert await asyncio.to_thread(fetch, first.ip) == b"first"
        assert await asyncio.to_thread(fetch, second.ip) == b"second"
        # setpriv and `ip netns exec` replaced themselves: the started pid is bubblewrap itself
        assert Path(f"/proc/{servers[0].pid}/comm").read_text().strip() == "bwrap"
        probe = f"import socket; print(socket.create_connection(('{second.ip}', 8080), timeout=3).recv(9).decode())"
        assert await box.run(spec_in(first, "python3", "-c", probe), 10.0) == (0, b"second\n")
        for server in servers:
            server.signal(9)
            await server.wait()
        await pods.teardown(first_uid := "11111111-aaaa")
        assert f"{prefix}11111111" not in reaping.list_namespaces()
        assert (await pods.setup(first_uid)).ip == first.ip
    finally:
        await pods.close()
    assert not [name for name in reaping.list_namespaces() + reaping.list_links() if name.startswith(prefix)]


@needs_namespaces
@on_loop
async def test_pod_links_carry_loopback_sized_frames(tmp_path: Path) -> None:
    """Pods talk within the machine: 1500-byte frames slowed a gloo all-reduce between two pods 1.5-2x."""
    prefix = sandbox.cluster_prefix(tmp_path)
    pods = await network.detect_network(prefix)
    assert isinstance(pods, network.NamespacedNetwork)
    try:
        pod = await pods.setup("44444444-dddd")
        assert pod.netns is not None
        _code, shown = await sandbox.run_host(["ip", "-n", pod.netns, "-o", "link", "show", "eth0"])
        assert f" mtu {network.POD_MTU} " in shown.decode()
        for host_end in (pods.bridge, pod.netns):
            assert Path(f"/sys/class/net/{host_end}/mtu").read_text().strip() == str(network.POD_MTU)
    finally:
        await pods.close()


def print_nothing(_stream: Stream, _line: bytes) -> None:
    return None


@needs_namespaces
@on_loop
async def test_reap_leftovers_removes_namespaces_and_bridge_of_a_killed_cluster(tmp_path: Path) -> None:
    prefix = sandbox.cluster_prefix(tmp_path)
    pods = await network.detect_network(prefix)
    await pods.setup("33333333-cccc")
    assert any(name.startswith(prefix) for name in reaping.list_namespaces())
    reaped = await reaping.reap(tmp_path, SystemClock())
    assert reaped.namespaces == (f"{prefix}33333333",)
    assert f"{prefix}br" in reaped.links
    assert not [name for name in reaping.list_namespaces() + reaping.list_links() if name.startswith(prefix)]
