"""The kubelet's pod lifecycle against a real store, with a fake sandbox and network.

The fake sandbox reads each container's argv as a tiny script (`say:hi`, `msg:text`, `exit:1`,
`sleep`, `ignore-term`), so a test states what the "process" does and watches the pod's status
move exactly as a kubelet would move it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded import tasks
from kfval.embedded.clock import SystemClock
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.kubelet.containers import LogSink, Mount, PodNetwork, ProcessSpec, Stream
from kfval.embedded.kubelet.pods import Kubelet
from kfval.embedded.kubelet.podservices import ImageFile, PodServices
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.tasks import TaskGroup
from kfval.embedded.types import Body

NS = "default"

# -- fakes -------------------------------------------------------------------------------------


class FakeProcess:
    def __init__(self, spec: ProcessSpec, sink: LogSink, sandbox: FakeSandbox) -> None:
        self.pid = len(sandbox.started)
        self.spec = spec
        self.signals: list[int] = []
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._ignore_term = "ignore-term" in spec.argv
        self._task = asyncio.ensure_future(self._script(sink))

    async def _script(self, sink: LogSink) -> None:
        for word in self.spec.argv:
            verb, _, arg = word.partition(":")
            if verb == "say":
                sink("stdout", arg.encode())
            elif verb == "msg":
                target = next(m for m in self.spec.mounts if m.target == "/dev/termination-log")
                target.source.write_text(arg)
            elif verb == "exit":
                await asyncio.sleep(0.05)
                self._finish(int(arg))
                return

    def _finish(self, code: int) -> None:
        if not self._exit.done():
            self._exit.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    def signal(self, signum: int) -> None:
        self.signals.append(signum)
        if signum == signal.SIGKILL or not self._ignore_term:
            self._finish(128 + signum)


@dataclass
class FakeSandbox:
    name: str = "fake"
    started: list[FakeProcess] = field(default_factory=list)

    async def start(self, spec: ProcessSpec, sink: LogSink) -> FakeProcess:
        process = FakeProcess(spec, sink, self)
        self.started.append(process)
        return process

    async def run(self, spec: ProcessSpec, timeout_seconds: float) -> tuple[int, bytes]:
        return 0, b""


@dataclass
class FakeNetwork:
    host_ip: str = "10.0.0.1"
    torn_down: list[str] = field(default_factory=list)
    count: int = 0

    async def setup(self, pod_uid: str) -> PodNetwork:
        self.count += 1
        return PodNetwork(f"10.244.0.{self.count + 1}")

    async def teardown(self, pod_uid: str) -> None:
        self.torn_down.append(pod_uid)

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class Image:
    name: str
    mounts: tuple[ImageFile, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None


@dataclass
class FakeImages:
    known: dict[str, Image] = field(default_factory=dict)

    def resolve(self, reference: str) -> Image | None:
        return self.known.get(reference)


class FakeVolumes:
    async def prepare_volumes(self, pod: Body, *, store: Store, pod_dir: Path) -> dict[str, Path]:
        return {}

    def mounts_for(
        self, container: Body, volumes: Mapping[str, Path], *, env: Mapping[str, str] | None = None
    ) -> tuple[Mount, ...]:
        return ()


class FakeEnvironment:
    def resolve_env(
        self,
        pod: Body,
        container: Body,
        *,
        store: Store,
        pod_ips: Sequence[str] | None = None,
        host_ip: str | None = None,
    ) -> dict[str, str]:
        return {e["name"]: e["value"] for e in container.get("env") or []}

    def expand(self, values: Sequence[str], env: Mapping[str, str]) -> list[str]:
        return list(values)


@dataclass
class FakeHosts:
    directory: Path
    forgotten: list[str] = field(default_factory=list)

    def path_for(self, pod: Body, *, pod_ip: str | None = None) -> Path:
        path = self.directory / f"{pod['metadata']['uid']}-hosts"
        path.touch()
        return path

    def resolv_conf_for(self, pod: Body) -> Path:
        path = self.directory / f"{pod['metadata']['uid']}-resolv.conf"
        path.touch()
        return path

    def forget(self, pod_uid: str) -> None:
        self.forgotten.append(pod_uid)


@dataclass(frozen=True)
class Result:
    success: bool
    message: str


@dataclass
class FakeProbes:
    healthy: bool = False
    broken: bool = False

    async def run_probe(
        self,
        probe: Mapping[str, Any],
        *,
        pod_ip: str,
        exec_in: Callable[[Sequence[str], float], Awaitable[tuple[int, bytes]]],
        ports: Mapping[str, int] | None = None,
    ) -> Result:
        if self.broken:
            raise RuntimeError("the prober has a bug")
        return Result(self.healthy, "" if self.healthy else "not yet")


@dataclass
class FakeWriter:
    lines: list[bytes]

    def write(self, stream: Stream, line: bytes) -> None:
        self.lines.append(line)

    def close(self) -> None:
        return None


@dataclass
class FakeLogs:
    lines: dict[str, list[bytes]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def writer(self, pod_uid: str, container: str, restart_count: int, /) -> FakeWriter:
        return FakeWriter(self.lines.setdefault(container, []))

    async def remove(self, pod: Body) -> None:
        self.removed.append(pod["metadata"]["uid"])


# -- harness -----------------------------------------------------------------------------------


@dataclass
class Node:
    store: Store
    kubelet: Kubelet
    sandbox: FakeSandbox
    network: FakeNetwork
    images: FakeImages
    probes: FakeProbes
    logs: FakeLogs
    hosts: FakeHosts
    statuses: list[Body]

    def rt(self, resource: str, group: str = "") -> Any:
        return self.store.catalog.lookup(group, "v1", resource)

    def create_pod(self, name: str, *containers: Body, policy: str = "Never", **spec: Any) -> Body:
        body = {
            "metadata": {"name": name},
            "spec": {"restartPolicy": policy, "containers": list(containers), **spec},
        }
        return self.store.create(self.rt("pods"), body, namespace=NS)

    def pod(self, name: str) -> Body:
        return self.store.get(self.rt("pods"), NS, name)

    def events(self, reason: str | None = None) -> list[Body]:
        items, _ = self.store.list(self.rt("events"), NS)
        return [e for e in items if reason is None or e["reason"] == reason]

    def seen(self, name: str) -> list[Body]:
        return [s for s in self.statuses if s["name"] == name]

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        async def poll() -> None:
            while not check():
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)


def container(name: str, *argv: str, image: str = "busybox:1", **extra: Any) -> Body:
    return {"name": name, "image": image, "command": list(argv), **extra}


async def _record(store: Store, statuses: list[Body]) -> None:
    pods = store.catalog.lookup("", "v1", "pods")
    async for event in tasks.follow(lambda: store.watch(pods), what="pods (test record)"):
        statuses.append(
            {"name": event.object["metadata"]["name"], "type": event.type, **(event.object.get("status") or {})}
        )


def in_cluster(test: Callable[[Node], Awaitable[None]]) -> Callable[[Path], None]:
    """Run `test` against a running kubelet on a real store; everything is stopped afterwards."""

    def run(tmp_path: Path) -> None:
        async def main() -> None:
            clock = SystemClock()
            store = Store(Catalog(), clock)
            store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": NS}})
            tasks = TaskGroup()
            node = _node(store, tasks, tmp_path)
            tasks.spawn("test/record", _record(store, node.statuses))
            tasks.spawn("test/kubelet", node.kubelet.run())
            try:
                await test(node)
            finally:
                await node.kubelet.close()
                await tasks.close()
            assert tasks.crash is None

        asyncio.run(main())

    run.__name__ = test.__name__
    return run


def _node(store: Store, tasks: TaskGroup, tmp_path: Path) -> Node:
    clock = store.clock
    sandbox, network = FakeSandbox(), FakeNetwork()
    images = FakeImages({"busybox:1": Image("busybox:1")})
    probes, logs, hosts = FakeProbes(), FakeLogs(), FakeHosts(tmp_path)
    services = PodServices(
        images=images,
        volumes=FakeVolumes(),
        environment=FakeEnvironment(),
        hosts=hosts,
        probes=probes,
        logs=logs,
        events=Recorder(store, clock, "kubelet", "kfval-node"),
        scheduler_events=Recorder(store, clock, "default-scheduler"),
    )
    kubelet = Kubelet(
        store,
        clock,
        sandbox=sandbox,
        network=network,
        services=services,
        pods_root=tmp_path / "pods",
        tasks=tasks,
        back_off_initial_seconds=0.2,
        heartbeat_seconds=0.05,
        schedule_retry_seconds=0.05,
    )
    return Node(store, kubelet, sandbox, network, images, probes, logs, hosts, [])


def phase(node: Node, name: str) -> str | None:
    return (node.pod(name).get("status") or {}).get("phase")


def state_of(status: Body, key: str = "containerStatuses") -> Body:
    entries = status.get(key) or [{}]
    return dict(entries[0].get("state") or {})


def waiting_reason(status: Body) -> str | None:
    return state_of(status).get("waiting", {}).get("reason")


# -- tests -------------------------------------------------------------------------------------


@in_cluster
async def test_node_is_registered_ready(node: Node) -> None:
    await node.until(lambda: node.store.exists(node.rt("nodes"), None, "kfval-node"))
    body = node.store.get(node.rt("nodes"), None, "kfval-node")
    assert body["metadata"]["labels"]["kubernetes.io/hostname"] == "kfval-node"
    assert body["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == ""
    ready = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
    )
    assert body["status"]["capacity"]["pods"] == "110"
    assert body["status"]["addresses"][0] == {"type": "InternalIP", "address": "10.0.0.1"}
    assert body["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.0"


@in_cluster
async def test_a_pod_runs_to_success(node: Node) -> None:
    node.create_pod("ok", container("main", "say:hello", "exit:0"))
    await node.until(lambda: phase(node, "ok") == "Succeeded")
    status = node.pod("ok")["status"]
    phases = [s.get("phase") for s in node.seen("ok")]
    assert phases.index("Pending") < phases.index("Running") < phases.index("Succeeded")
    assert node.pod("ok")["spec"]["nodeName"] == "kfval-node"
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert [c["status"] for c in status["conditions"]] == ["False", "True", "False", "False", "True"]
    assert status["conditions"][2]["reason"] == "PodCompleted"
    assert (status["hostIP"], status["podIP"], status["qosClass"]) == ("10.0.0.1", "10.244.0.2", "BestEffort")
    assert status["podIPs"] == [{"ip": "10.244.0.2"}]
    assert status["startTime"]
    entry = status["containerStatuses"][0]
    terminated = entry["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert terminated["containerID"] == entry["containerID"]
    assert entry["containerID"].startswith("kfval://")
    assert (entry["ready"], entry["started"], entry["restartCount"]) == (False, False, 0)
    assert entry["image"] == "docker.io/library/busybox:1"
    assert entry["imageID"].startswith("docker.io/library/busybox@sha256:")
    running = next(s for s in node.seen("ok") if s.get("phase") == "Running")
    assert running["containerStatuses"][0]["ready"] is True
    assert [c["status"] for c in running["conditions"]] == ["True"] * 5
    assert node.logs.lines["main"] == [b"hello"]
    reasons = [e["reason"] for e in node.events()]
    for reason in ("Scheduled", "Pulling", "Pulled", "Created", "Started"):
        assert reason in reasons
    assert node.events("Created")[0]["message"] == "Created container: main"
    assert node.events("Started")[0]["message"] == "Started container main"
    assert node.events("Scheduled")[0]["source"] == {"component": "default-scheduler"}
    assert node.events("Pulled")[0]["message"].startswith('Successfully pulled image "busybox:1" in ')
    assert node.network.torn_down == [node.pod("ok")["metadata"]["uid"]]


@in_cluster
async def test_a_failing_container_fails_a_never_pod(node: Node) -> None:
    node.create_pod("bad", container("main", "msg:gave up", "exit:1"))
    await node.until(lambda: phase(node, "bad") == "Failed")
    status = node.pod("bad")["status"]
    terminated = state_of(status)["terminated"]
    assert (terminated["exitCode"], terminated["reason"], terminated["message"]) == (1, "Error", "gave up")
    assert status["conditions"][2]["reason"] == "PodFailed"


@in_cluster
async def test_an_unknown_image_backs_off_until_it_appears(node: Node) -> None:
    node.create_pod("pull", container("main", "sleep", image="nope:1"))
    await node.until(lambda: waiting_reason(node.pod("pull")["status"]) == "ImagePullBackOff")
    reasons = [waiting_reason(s) for s in node.seen("pull")]
    assert reasons.index("ErrImagePull") < reasons.index("ImagePullBackOff")
    waiting = next(state_of(s)["waiting"] for s in node.seen("pull") if waiting_reason(s) == "ErrImagePull")
    assert waiting["message"].startswith('Failed to pull image "nope:1": ')
    assert state_of(node.pod("pull")["status"])["waiting"]["message"] == 'Back-off pulling image "nope:1"'
    assert phase(node, "pull") == "Pending"
    assert 'Failed to pull image "nope:1"' in " ".join(e["message"] for e in node.events("Failed"))
    node.images.known["nope:1"] = Image("nope:1")
    await node.until(lambda: phase(node, "pull") == "Running")


@in_cluster
async def test_a_crashing_container_goes_into_crash_loop_back_off(node: Node) -> None:
    pod = node.create_pod("crash", container("c", "exit:1"), policy="Always")
    uid = pod["metadata"]["uid"]
    await node.until(
        lambda: (node.pod("crash")["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0) >= 2
    )
    waiting = [state_of(s)["waiting"] for s in node.seen("crash") if waiting_reason(s) == "CrashLoopBackOff"]
    assert waiting[0]["message"] == f"back-off 200ms restarting failed container=c pod=crash_default({uid})"
    entry = node.pod("crash")["status"]["containerStatuses"][0]
    assert entry["lastState"]["terminated"]["exitCode"] == 1
    assert node.pod("crash")["status"]["phase"] == "Running"
    assert node.events("BackOff")[0]["message"] == f"Back-off restarting failed container c in pod crash_default({uid})"
    assert len(node.sandbox.started) >= 3


@in_cluster
async def test_deleting_a_pod_stops_its_containers_gracefully(node: Node) -> None:
    node.create_pod("web", container("c", "sleep"), policy="Always")
    await node.until(lambda: phase(node, "web") == "Running")
    node.store.delete(node.rt("pods"), NS, "web")
    assert node.store.exists(node.rt("pods"), NS, "web")  # the kubelet finishes the deletion
    await node.until(lambda: not node.store.exists(node.rt("pods"), NS, "web"))
    assert node.sandbox.started[0].signals == [signal.SIGTERM]
    assert node.events("Killing")[0]["message"] == "Stopping container c"


@in_cluster
async def test_a_container_ignoring_sigterm_is_killed_after_the_grace_period(node: Node) -> None:
    node.create_pod("stubborn", container("c", "ignore-term", "sleep"), policy="Always")
    await node.until(lambda: phase(node, "stubborn") == "Running")
    node.store.delete(node.rt("pods"), NS, "stubborn", grace_period_seconds=1)
    await node.until(lambda: not node.store.exists(node.rt("pods"), NS, "stubborn"))
    assert node.sandbox.started[0].signals == [signal.SIGTERM, signal.SIGKILL]
    last = node.seen("stubborn")[-2]  # the final status write, before DELETED
    assert last["phase"] == "Failed"
    assert last["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137


@in_cluster
async def test_readiness_follows_the_probe(node: Node) -> None:
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 0.05, "failureThreshold": 1}
    node.create_pod("ready", container("c", "sleep", readinessProbe=probe), policy="Always")
    await node.until(lambda: phase(node, "ready") == "Running")
    await node.until(lambda: bool(node.events("Unhealthy")))
    status = node.pod("ready")["status"]
    assert status["containerStatuses"][0]["ready"] is False
    assert status["containerStatuses"][0]["started"] is True
    ready = status["conditions"][2]
    assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")
    assert ready["message"] == "containers with unready status: [c]"
    assert node.events("Unhealthy")[0]["message"] == "Readiness probe failed: not yet"
    node.probes.healthy = True
    await node.until(lambda: node.pod("ready")["status"]["conditions"][2]["status"] == "True")
    assert node.pod("ready")["status"]["containerStatuses"][0]["ready"] is True


@in_cluster
async def test_init_containers_run_in_order_before_the_containers(node: Node) -> None:
    inits = [container("first", "exit:0"), container("second", "exit:0")]
    node.create_pod("init", container("main", "exit:0"), initContainers=inits)
    await node.until(lambda: phase(node, "init") == "Succeeded")
    assert [p.spec.argv for p in node.sandbox.started] == [("exit:0",)] * 3
    started = [waiting_reason(s) for s in node.seen("init")]
    assert "PodInitializing" in started
    status = node.pod("init")["status"]
    assert [s["state"]["terminated"]["reason"] for s in status["initContainerStatuses"]] == ["Completed"] * 2
    assert status["conditions"][1]["reason"] == "PodCompleted"
    order = [s["started_name"] for s in _start_order(node)]
    assert order == ["first", "second", "main"]


def _start_order(node: Node) -> list[dict[str, str]]:
    return [{"started_name": e["involvedObject"]["fieldPath"].split("{")[1].rstrip("}")} for e in _by_time(node)]


def _by_time(node: Node) -> list[Body]:
    return sorted(node.events("Started"), key=lambda e: int(e["metadata"]["resourceVersion"]))


@in_cluster
async def test_a_failed_init_container_fails_a_never_pod(node: Node) -> None:
    node.create_pod("initfail", container("main", "exit:0"), initContainers=[container("setup", "exit:2")])
    await node.until(lambda: phase(node, "initfail") == "Failed")
    status = node.pod("initfail")["status"]
    assert status["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 2
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert status["conditions"][1]["reason"] == "ContainersNotInitialized"
    assert len(node.sandbox.started) == 1


@in_cluster
async def test_a_pod_with_an_unbound_claim_is_unschedulable_until_it_binds(node: Node) -> None:
    claims = node.rt("persistentvolumeclaims")
    node.store.create(claims, {"metadata": {"name": "data"}, "spec": {}}, namespace=NS)
    volume = {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
    node.create_pod("claimer", container("c", "exit:0"), volumes=[volume])
    await node.until(lambda: bool(node.events("FailedScheduling")))
    scheduled = node.pod("claimer")["status"]["conditions"][0]
    message = (
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: "
        "0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    )
    assert (scheduled["type"], scheduled["status"], scheduled["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert scheduled["message"] == message
    assert node.events("FailedScheduling")[0]["message"] == message
    assert node.events("FailedScheduling")[0]["type"] == "Warning"
    assert node.events("FailedScheduling")[0]["count"] == 1
    claim = node.store.get(claims, NS, "data")
    claim["status"] = {"phase": "Bound"}
    node.store.replace(claims, claim, subresource="status")
    await node.until(lambda: phase(node, "claimer") == "Succeeded")


@in_cluster
async def test_closing_the_kubelet_kills_processes_and_keeps_pods(node: Node) -> None:
    node.create_pod("kept", container("c", "sleep"), policy="Always")
    await node.until(lambda: phase(node, "kept") == "Running")
    await node.kubelet.close()
    assert node.sandbox.started[0].signals == [signal.SIGKILL]
    assert node.store.exists(node.rt("pods"), NS, "kept")


@in_cluster
async def test_the_image_config_and_the_container_spec_compose_the_process(node: Node) -> None:
    node.images.known["app:1"] = Image(
        "app:1", env={"A": "image", "B": "image"}, workdir="/app", entrypoint=("exit:0",)
    )
    node.create_pod("app", {"name": "c", "image": "app:1", "env": [{"name": "B", "value": "mine"}]})
    await node.until(lambda: phase(node, "app") == "Succeeded")
    spec = node.sandbox.started[0].spec
    assert spec.argv == ("exit:0",)
    assert (spec.env["A"], spec.env["B"], spec.workdir) == ("image", "mine", "/app")
    assert spec.hostname == "app"
    assert spec.network.ip == "10.244.0.2"
    assert {"/etc/hosts", "/dev/termination-log"} <= {m.target for m in spec.mounts}


@pytest.mark.parametrize("scheduler", ["other-scheduler"])
def test_pods_for_another_scheduler_are_left_alone(tmp_path: Path, scheduler: str) -> None:
    @in_cluster
    async def check(node: Node) -> None:
        node.create_pod("foreign", container("c", "exit:0"), schedulerName=scheduler)
        await asyncio.sleep(0.3)
        assert "nodeName" not in node.pod("foreign")["spec"]
        assert not node.sandbox.started

    check(tmp_path)


@in_cluster
async def test_a_failing_liveness_probe_restarts_the_container(node: Node) -> None:
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 0.05, "failureThreshold": 2}
    node.create_pod("live", container("c", "sleep", livenessProbe=probe), policy="Always")
    await node.until(lambda: bool(node.events("Killing")))
    assert node.events("Killing")[0]["message"] == "Container c failed liveness probe, will be restarted"
    assert node.events("Unhealthy")[0]["message"] == "Liveness probe failed: not yet"
    await node.until(lambda: (node.pod("live")["status"].get("containerStatuses") or [{}])[0].get("restartCount") == 1)
    assert node.sandbox.started[0].signals == [signal.SIGTERM]
    entry = node.pod("live")["status"]["containerStatuses"][0]
    assert entry["lastState"]["terminated"]["exitCode"] == 143


@in_cluster
async def test_a_failing_init_container_is_retried_under_on_failure(node: Node) -> None:
    node.create_pod(
        "initloop", container("main", "exit:0"), policy="OnFailure", initContainers=[container("i", "exit:3")]
    )
    await node.until(
        lambda: waiting_reason_of(node.pod("initloop")["status"], "initContainerStatuses") == "CrashLoopBackOff"
    )
    status = node.pod("initloop")["status"]
    assert status["phase"] == "Pending"
    assert status["initContainerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 3
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert all(p.spec.argv == ("exit:3",) for p in node.sandbox.started)


def waiting_reason_of(status: Body, key: str) -> str | None:
    return state_of(status, key).get("waiting", {}).get("reason")


def test_a_runtime_under_a_scratch_dir_is_bound_back_into_containers() -> None:
    """A checkout under /tmp keeps its virtualenv visible although every container gets its own /tmp."""
    from kfval.embedded.kubelet import containerspec

    mounts = containerspec.runtime_mounts(("/tmp",), roots=("/tmp/clone/.venv", "/tmp/clone/.venv/bin", "/usr/local"))
    assert [(str(m.source), m.target, m.read_only) for m in mounts] == [("/tmp/clone/.venv", "/tmp/clone/.venv", True)]
    assert containerspec.runtime_mounts(("/tmp",), roots=("/work/main/.venv",)) == ()
