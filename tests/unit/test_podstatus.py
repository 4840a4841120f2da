"""Pod status fields, container composition rules and back-off, as pure functions."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded.kubelet import backoff, containerspec, podstatus
from kfval.embedded.kubelet.podservices import ImageFile

NOW = "2026-01-01T00:00:10Z"
EARLIER = "2026-01-01T00:00:00Z"


def pod(policy: str = "Never", *, init: int = 0, containers: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
        "spec": {
            "restartPolicy": policy,
            "initContainers": [{"name": f"i{n}", "image": "busybox"} for n in range(init)],
            "containers": [{"name": f"c{n}", "image": "busybox"} for n in range(containers)],
            **extra,
        },
    }


def done(name: str, code: int) -> dict[str, Any]:
    return {"name": name, "state": {"terminated": {"exitCode": code}}, "lastState": {}, "ready": False}


def run(name: str, *, ready: bool = True) -> dict[str, Any]:
    return {"name": name, "state": {"running": {"startedAt": EARLIER}}, "lastState": {}, "ready": ready}


def wait(name: str, *, last_exit: int | None = None) -> dict[str, Any]:
    last = {} if last_exit is None else {"terminated": {"exitCode": last_exit}}
    return {"name": name, "state": {"waiting": {"reason": "X"}}, "lastState": last, "ready": False}


# -- phase -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "statuses", "phase"),
    [
        ("Never", [done("c0", 0)], "Succeeded"),
        ("Never", [done("c0", 1)], "Failed"),
        ("Never", [done("c0", 1), run("c1")], "Running"),
        ("Never", [wait("c0")], "Pending"),
        ("OnFailure", [done("c0", 0)], "Succeeded"),
        ("OnFailure", [wait("c0", last_exit=1)], "Running"),
        ("Always", [done("c0", 0)], "Running"),
        ("Always", [wait("c0", last_exit=1)], "Running"),
    ],
)
def test_phase_follows_getphase(policy: str, statuses: list[dict[str, Any]], phase: str) -> None:
    assert podstatus.pod_phase(pod(policy, containers=len(statuses)), [], statuses) == phase


def test_init_failure_fails_a_never_pod_and_holds_others_pending() -> None:
    statuses = [wait("c0")]
    assert podstatus.pod_phase(pod("Never", init=1), [done("i0", 1)], statuses) == "Failed"
    assert podstatus.pod_phase(pod("OnFailure", init=1), [wait("i0", last_exit=1)], statuses) == "Pending"
    assert podstatus.pod_phase(pod("Always", init=1), [run("i0")], statuses) == "Pending"


def test_a_terminating_pod_ends_in_a_terminal_phase() -> None:
    assert podstatus.pod_phase(pod("Always"), [], [done("c0", 143)], terminal=True) == "Failed"
    assert podstatus.pod_phase(pod("Always"), [], [done("c0", 0)], terminal=True) == "Succeeded"
    assert podstatus.pod_phase(pod("Always"), [], [wait("c0")], terminal=True) == "Failed"


# -- conditions --------------------------------------------------------------------------------


def test_condition_keeps_its_transition_time_until_the_status_flips() -> None:
    before = [{"type": "Ready", "status": "False", "lastTransitionTime": EARLIER}]
    assert podstatus.condition("Ready", False, now=NOW, previous=before)["lastTransitionTime"] == EARLIER
    assert podstatus.condition("Ready", True, now=NOW, previous=before)["lastTransitionTime"] == NOW


def test_conditions_of_a_running_pod_with_an_unready_container() -> None:
    body = pod("Always", containers=2)
    conditions = podstatus.pod_conditions(
        body,
        phase="Running",
        init_statuses=[],
        statuses=[run("c0"), run("c1", ready=False)],
        sandbox_ready=True,
        now=NOW,
    )
    assert [c["type"] for c in conditions] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    by_type = {c["type"]: c for c in conditions}
    assert by_type["PodReadyToStartContainers"]["status"] == "True"
    assert by_type["Initialized"] == {
        "type": "Initialized",
        "status": "True",
        "lastProbeTime": None,
        "lastTransitionTime": NOW,
    }
    assert by_type["Ready"]["status"] == "False"
    assert by_type["Ready"]["reason"] == "ContainersNotReady"
    assert by_type["Ready"]["message"] == "containers with unready status: [c1]"
    assert by_type["ContainersReady"]["message"] == "containers with unready status: [c1]"


def test_conditions_of_finished_pods_name_the_outcome() -> None:
    succeeded = podstatus.pod_conditions(
        pod("Never", init=1),
        phase="Succeeded",
        init_statuses=[done("i0", 0)],
        statuses=[done("c0", 0)],
        sandbox_ready=False,
        now=NOW,
    )
    by_type = {c["type"]: c for c in succeeded}
    assert by_type["Initialized"]["reason"] == "PodCompleted"
    assert by_type["Ready"]["reason"] == "PodCompleted"
    assert by_type["PodReadyToStartContainers"]["status"] == "False"
    failed = podstatus.pod_conditions(
        pod("Never", init=1),
        phase="Failed",
        init_statuses=[done("i0", 1)],
        statuses=[wait("c0")],
        sandbox_ready=False,
        now=NOW,
    )
    by_type = {c["type"]: c for c in failed}
    assert by_type["Initialized"]["reason"] == "ContainersNotInitialized"
    assert by_type["Initialized"]["message"] == "containers with incomplete status: [i0]"
    assert by_type["ContainersReady"]["reason"] == "PodFailed"


def test_pod_scheduled_is_kept_from_the_scheduler() -> None:
    body = pod()
    scheduled = {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": EARLIER}
    body["status"] = {"conditions": [scheduled]}
    conditions = podstatus.pod_conditions(
        body, phase="Pending", init_statuses=[], statuses=[wait("c0")], sandbox_ready=False, now=NOW
    )
    assert conditions[-1] == scheduled


def test_container_status_shape() -> None:
    container = {"name": "c", "image": "busybox", "volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": True}]}
    assert podstatus.container_status(container, state=podstatus.default_waiting(pod(), init=False)) == {
        "name": "c",
        "state": {"waiting": {"reason": "ContainerCreating"}},
        "lastState": {},
        "ready": False,
        "restartCount": 0,
        "image": "busybox",
        "imageID": "",
        "started": False,
        "volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": True, "recursiveReadOnly": "Disabled"}],
    }
    assert podstatus.default_waiting(pod(init=1), init=False) == {"waiting": {"reason": "PodInitializing"}}


# -- container composition ---------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    name: str = "img"
    mounts: tuple[ImageFile, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    entrypoint: tuple[str, ...] | None = ("python", "-m", "app")
    cmd: tuple[str, ...] | None = ("--default",)


def expand(values: Any, env: Any) -> list[str]:
    return [v.replace("$(NAME)", env.get("NAME", "$(NAME)")) for v in values]


@pytest.mark.parametrize(
    ("container", "argv"),
    [
        ({}, ("python", "-m", "app", "--default")),
        ({"args": ["--x=$(NAME)"]}, ("python", "-m", "app", "--x=v")),
        ({"command": ["sh"]}, ("sh",)),
        ({"command": ["sh"], "args": ["-c", "true"]}, ("sh", "-c", "true")),
    ],
)
def test_command_and_args_override_entrypoint_and_cmd(container: dict[str, Any], argv: tuple[str, ...]) -> None:
    assert containerspec.argv(container, Image(), env={"NAME": "v"}, expand=expand) == argv


def test_no_command_at_all_is_refused() -> None:
    with pytest.raises(containerspec.MissingCommandError):
        containerspec.argv({}, Image(entrypoint=None, cmd=None), env={}, expand=expand)


def test_environment_prefers_the_container_and_puts_the_cluster_python_first() -> None:
    env = containerspec.environment(Image(env={"A": "image", "B": "image"}), {"B": "container"}, hostname="h")
    assert env["A"] == "image"
    assert env["B"] == "container"
    assert env["HOSTNAME"] == "h"
    assert env["PATH"].split(":")[0] == os.path.dirname(sys.executable)
    assert containerspec.working_dir({}, Image(workdir="/app")) == "/app"
    assert containerspec.working_dir({"workingDir": "/w"}, Image(workdir="/app")) == "/w"


def test_image_references_are_normalised_as_containerd_reports_them() -> None:
    assert containerspec.normalized_reference("busybox") == "docker.io/library/busybox:latest"
    assert containerspec.normalized_reference("kubeflow/x:v1") == "docker.io/kubeflow/x:v1"
    assert containerspec.normalized_reference("localhost:5000/a/b") == "localhost:5000/a/b:latest"
    assert containerspec.image_id("busybox").startswith("docker.io/library/busybox@sha256:")
    assert containerspec.memory_limit_bytes({"resources": {"limits": {"memory": "1Mi"}}}) == 2**20
    assert Path(containerspec.termination_message_path({})) == Path("/dev/termination-log")


# -- back-off ----------------------------------------------------------------------------------


def test_back_off_restarts_once_at_once_then_doubles_up_to_the_maximum() -> None:
    back_off = backoff.BackOff(10, 40)
    assert not back_off.in_back_off_since("k", 0)
    assert back_off.next("k", 0) == 10
    assert back_off.in_back_off_since("k", 5)
    assert back_off.remaining("k", 5) == 5
    assert back_off.next("k", 10) == 20
    assert back_off.next("k", 30) == 40
    assert back_off.next("k", 70) == 40
    assert back_off.next("k", 70 + 81) == 10  # quiet for more than twice the maximum: forgotten


def test_go_durations() -> None:
    assert backoff.go_duration(10) == "10s"
    assert backoff.go_duration(300) == "5m0s"
    assert backoff.go_duration(0.05) == "50ms"
    assert backoff.go_duration(1.5) == "1.5s"
    assert backoff.go_duration(0.0000123) == "12.3µs"
