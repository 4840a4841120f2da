"""The kubelet's pod lifecycle against a real store, with fake processes, network and probes.

A test states what each container "process" does (support/kubelet.py) and watches the pod's
status move exactly as a kubelet would move it; time-driven steps (back-offs, probe periods,
grace periods) happen when the test advances the fake clock.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from kfval.embedded.types import Body
from tests.support.kubelet import NS, Image, Node, container, on_node, phase
from tests.support.polling import eventually


def state_of(status: Body, key: str = "containerStatuses") -> Body:
    entries = status.get(key) or [{}]
    return dict(entries[0].get("state") or {})


def waiting_reason(status: Body) -> str | None:
    return state_of(status).get("waiting", {}).get("reason")


def restarts(node: Node, name: str) -> int:
    return int((node.status(name).get("containerStatuses") or [{}])[0].get("restartCount", 0))


# -- tests -------------------------------------------------------------------------------------


@on_node
async def test_node_is_registered_ready(node: Node) -> None:
    await eventually(lambda: node.store.exists(node.rt("nodes"), None, "kfval-node"), "the Node registered")
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


@on_node
async def test_a_pod_runs_to_success(node: Node) -> None:
    node.create_pod("ok", container("main", "say:hello", "exit:0"))
    await eventually(lambda: phase(node, "ok") == "Succeeded", "pod ok Succeeded")
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


@on_node
async def test_a_failing_container_fails_a_never_pod(node: Node) -> None:
    node.create_pod("bad", container("main", "msg:gave up", "exit:1"))
    await eventually(lambda: phase(node, "bad") == "Failed", "pod bad Failed")
    status = node.pod("bad")["status"]
    terminated = state_of(status)["terminated"]
    assert (terminated["exitCode"], terminated["reason"], terminated["message"]) == (1, "Error", "gave up")
    assert status["conditions"][2]["reason"] == "PodFailed"


@on_node
async def test_an_unknown_image_backs_off_until_it_appears(node: Node) -> None:
    node.create_pod("pull", container("main", "sleep", image="nope:1"))
    await eventually(lambda: waiting_reason(node.status("pull")) == "ImagePullBackOff", "back-off")
    reasons = [waiting_reason(s) for s in node.seen("pull")]
    assert reasons.index("ErrImagePull") < reasons.index("ImagePullBackOff")
    waiting = next(state_of(s)["waiting"] for s in node.seen("pull") if waiting_reason(s) == "ErrImagePull")
    assert waiting["message"].startswith('Failed to pull image "nope:1": ')
    assert state_of(node.pod("pull")["status"])["waiting"]["message"] == 'Back-off pulling image "nope:1"'
    assert phase(node, "pull") == "Pending"
    assert 'Failed to pull image "nope:1"' in " ".join(e["message"] for e in node.events("Failed"))
    node.images.known["nope:1"] = Image("nope:1")
    await node.advance(1.0)  # the next attempt, once the back-off window has closed
    await eventually(lambda: phase(node, "pull") == "Running", "pod pull Running once the image appears")


@on_node
async def test_an_image_reference_that_cannot_be_parsed_is_invalid_image_name_and_never_pulled(node: Node) -> None:
    node.create_pod("upper", container("main", "sleep", image="Busybox:1"))
    await eventually(lambda: waiting_reason(node.status("upper")) == "InvalidImageName", "InvalidImageName")
    message = state_of(node.pod("upper")["status"])["waiting"]["message"]
    assert message == (
        'Failed to apply default image tag "Busybox:1": couldn\'t parse image reference "Busybox:1": '
        "invalid reference format: repository name must be lowercase"
    )
    assert node.events("InspectFailed")[0]["message"] == message
    assert node.events("Pulling") == [], "a reference that cannot be parsed is never pulled"
    await node.advance(30.0)
    assert waiting_reason(node.status("upper")) == "InvalidImageName"
    assert phase(node, "upper") == "Pending"


@on_node
async def test_a_crashing_container_goes_into_crash_loop_back_off(node: Node) -> None:
    pod = node.create_pod("crash", container("c", "exit:1"), policy="Always")
    uid = pod["metadata"]["uid"]
    await eventually(lambda: waiting_reason(node.status("crash")) == "CrashLoopBackOff", "CrashLoopBackOff")
    await node.advance(0.2)  # the first back-off
    await eventually(lambda: restarts(node, "crash") >= 2, "a second restart")
    waiting = [state_of(s)["waiting"] for s in node.seen("crash") if waiting_reason(s) == "CrashLoopBackOff"]
    assert waiting[0]["message"] == f"back-off 200ms restarting failed container=c pod=crash_default({uid})"
    entry = node.pod("crash")["status"]["containerStatuses"][0]
    assert entry["lastState"]["terminated"]["exitCode"] == 1
    assert node.pod("crash")["status"]["phase"] == "Running"
    assert node.events("BackOff")[0]["message"] == f"Back-off restarting failed container c in pod crash_default({uid})"
    assert len(node.sandbox.started) >= 3


@on_node
async def test_deleting_a_pod_stops_its_containers_gracefully(node: Node) -> None:
    node.create_pod("web", container("c", "sleep"), policy="Always")
    await eventually(lambda: phase(node, "web") == "Running", "pod web Running")
    node.store.delete(node.rt("pods"), NS, "web")
    assert node.exists("web")  # the kubelet finishes the deletion
    await eventually(lambda: not node.exists("web"), "pod web removed")
    assert node.sandbox.started[0].signals == [signal.SIGTERM]
    assert node.events("Killing")[0]["message"] == "Stopping container c"


@on_node
async def test_a_container_ignoring_sigterm_is_killed_after_the_grace_period(node: Node) -> None:
    node.create_pod("stubborn", container("c", "ignore-term", "sleep"), policy="Always")
    await eventually(lambda: phase(node, "stubborn") == "Running", "pod stubborn Running")
    node.store.delete(node.rt("pods"), NS, "stubborn", grace_period_seconds=1)
    await eventually(lambda: node.sandbox.started[0].signals == [signal.SIGTERM], "SIGTERM sent")
    await node.harness.settle()
    assert node.exists("stubborn"), "the grace period is not over"
    await node.advance(1.0)
    await eventually(lambda: not node.exists("stubborn"), "pod stubborn removed after its grace period")
    assert node.sandbox.started[0].signals == [signal.SIGTERM, signal.SIGKILL]
    last = node.seen("stubborn")[-2]  # the final status write, before DELETED
    assert last["phase"] == "Failed"
    assert last["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137


@on_node
async def test_readiness_follows_the_probe(node: Node) -> None:
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 0.05, "failureThreshold": 1}
    node.create_pod("ready", container("c", "sleep", readinessProbe=probe), policy="Always")
    await eventually(lambda: phase(node, "ready") == "Running", "pod ready Running")
    await eventually(lambda: node.events("Unhealthy"), "an Unhealthy event")
    status = node.pod("ready")["status"]
    assert status["containerStatuses"][0]["ready"] is False
    assert status["containerStatuses"][0]["started"] is True
    ready = status["conditions"][2]
    assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")
    assert ready["message"] == "containers with unready status: [c]"
    assert node.events("Unhealthy")[0]["message"] == "Readiness probe failed: not yet"
    node.probes.healthy = True
    await node.advance(0.05)  # the next probe period
    await eventually(lambda: node.pod("ready")["status"]["conditions"][2]["status"] == "True", "Ready=True")
    assert node.pod("ready")["status"]["containerStatuses"][0]["ready"] is True


@on_node
async def test_init_containers_run_in_order_before_the_containers(node: Node) -> None:
    inits = [container("first", "exit:0"), container("second", "exit:0")]
    node.create_pod("init", container("main", "exit:0"), initContainers=inits)
    await eventually(lambda: phase(node, "init") == "Succeeded", "pod init Succeeded")
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


@on_node
async def test_a_failed_init_container_fails_a_never_pod(node: Node) -> None:
    node.create_pod("initfail", container("main", "exit:0"), initContainers=[container("setup", "exit:2")])
    await eventually(lambda: phase(node, "initfail") == "Failed", "pod initfail Failed")
    status = node.pod("initfail")["status"]
    assert status["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 2
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert status["conditions"][1]["reason"] == "ContainersNotInitialized"
    assert len(node.sandbox.started) == 1


@on_node
async def test_a_pod_with_an_unbound_claim_is_unschedulable_until_it_binds(node: Node) -> None:
    claims = node.rt("persistentvolumeclaims")
    node.store.create(claims, {"metadata": {"name": "data"}, "spec": {}}, namespace=NS)
    volume = {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
    node.create_pod("claimer", container("c", "exit:0"), volumes=[volume])
    await eventually(lambda: node.events("FailedScheduling"), "a FailedScheduling event")
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
    await node.advance(0.05)  # the scheduler's retry of unschedulable pods
    await eventually(lambda: phase(node, "claimer") == "Succeeded", "pod claimer Succeeded once its claim is bound")


@on_node
async def test_closing_the_kubelet_kills_processes_and_keeps_pods(node: Node) -> None:
    node.create_pod("kept", container("c", "sleep"), policy="Always")
    await eventually(lambda: phase(node, "kept") == "Running", "pod kept Running")
    await node.kubelet.close()
    assert node.sandbox.started[0].signals == [signal.SIGKILL]
    assert node.exists("kept")


@on_node
async def test_the_image_config_and_the_container_spec_compose_the_process(node: Node) -> None:
    node.images.known["app:1"] = Image(
        "app:1", env={"A": "image", "B": "image"}, workdir="/app", entrypoint=("exit:0",)
    )
    node.create_pod("app", {"name": "c", "image": "app:1", "env": [{"name": "B", "value": "mine"}]})
    await eventually(lambda: phase(node, "app") == "Succeeded", "pod app Succeeded")
    spec = node.sandbox.started[0].spec
    assert spec.argv == ("exit:0",)
    assert (spec.env["A"], spec.env["B"], spec.workdir) == ("image", "mine", "/app")
    assert spec.hostname == "app"
    assert spec.network.ip == "10.244.0.2"
    assert {"/etc/hosts", "/dev/termination-log"} <= {m.target for m in spec.mounts}


@pytest.mark.parametrize("scheduler", ["other-scheduler"])
def test_pods_for_another_scheduler_are_left_alone(tmp_path: Path, scheduler: str) -> None:
    @on_node
    async def check(node: Node) -> None:
        node.create_pod("foreign", container("c", "exit:0"), schedulerName=scheduler)
        node.create_pod("ours", container("c", "exit:0"))
        await eventually(lambda: phase(node, "ours") == "Succeeded", "the pod after it Succeeded")
        await node.advance(0.05)  # the scheduler's retry of pending pods
        assert "nodeName" not in node.pod("foreign")["spec"]
        assert [p.spec.hostname for p in node.sandbox.started] == ["ours"]

    check(tmp_path)


@on_node
async def test_a_failing_liveness_probe_restarts_the_container(node: Node) -> None:
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 0.05, "failureThreshold": 2}
    node.create_pod("live", container("c", "sleep", livenessProbe=probe), policy="Always")
    await eventually(lambda: node.events("Unhealthy"), "the first failed probe")
    assert not node.events("Killing")
    await node.advance(0.05)  # the second failure reaches the threshold
    await eventually(lambda: node.events("Killing"), "a Killing event")
    assert node.events("Killing")[0]["message"] == "Container c failed liveness probe, will be restarted"
    assert node.events("Unhealthy")[0]["message"] == "Liveness probe failed: not yet"
    await eventually(lambda: restarts(node, "live") == 1, "the container restarted")
    assert node.sandbox.started[0].signals == [signal.SIGTERM]
    entry = node.pod("live")["status"]["containerStatuses"][0]
    assert entry["lastState"]["terminated"]["exitCode"] == 143


@on_node
async def test_a_failing_init_container_is_retried_under_on_failure(node: Node) -> None:
    node.create_pod(
        "initloop", container("main", "exit:0"), policy="OnFailure", initContainers=[container("i", "exit:3")]
    )
    await eventually(
        lambda: waiting_reason_of(node.status("initloop"), "initContainerStatuses") == "CrashLoopBackOff",
        "the init container in CrashLoopBackOff",
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
