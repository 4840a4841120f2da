"""The node's answers to pods/exec: which container it enters, and its words when it will not or cannot."""

from __future__ import annotations

import re

import pytest

from kfval.embedded.errors import BadRequestError, InternalError
from kfval.embedded.kubelet.executing import ContainerExecutor
from kfval.embedded.types import ExecRequest, ExecResult
from tests.support.kubelet import NS, Node, container, on_node, phase
from tests.support.polling import eventually


def request(node: Node, pod: str, name: str, *command: str, stdout: bool = True) -> ExecRequest:
    uid = node.pod(pod)["metadata"]["uid"]
    return ExecRequest(NS, pod, uid, name, command, stdout=stdout)


def running(node: Node, pod: str) -> bool:
    return phase(node, pod) == "Running"


@on_node
async def test_an_exec_enters_the_current_run_of_the_running_container(node: Node) -> None:
    node.create_pod("web", container("main", "sleep"))
    await eventually(lambda: running(node, "web"), "pod web Running")
    session = await ContainerExecutor(node.kubelet).exec(request(node, "web", "main", "sh", "-c", "exit:3"))
    assert [chunk async for chunk in session.output()] == []
    assert await session.wait() == ExecResult(3, "error executing command [sh -c exit:3], exit code 3")
    ((target, command),) = node.sandbox.execs
    assert target.process is node.sandbox.started[-1]
    assert target.spec.argv == ("sleep",)
    assert command == ("sh", "-c", "exit:3")


@on_node
async def test_a_command_that_succeeds_ends_without_words(node: Node) -> None:
    node.create_pod("web", container("main", "sleep"))
    await eventually(lambda: running(node, "web"), "pod web Running")
    session = await ContainerExecutor(node.kubelet).exec(request(node, "web", "main", "true"))
    assert await session.wait() == ExecResult(0)


@on_node
async def test_a_running_init_container_can_be_entered(node: Node) -> None:
    node.create_pod("setup", container("main", "exit:0"), initContainers=[container("init", "sleep")])

    def init_running() -> bool:
        statuses = node.status("setup").get("initContainerStatuses") or [{}]
        return "running" in statuses[0].get("state", {})

    await eventually(init_running, "the init container running")
    session = await ContainerExecutor(node.kubelet).exec(request(node, "setup", "init", "true"))
    assert await session.wait() == ExecResult(0)


@on_node
async def test_a_container_that_does_not_run_is_not_found(node: Node) -> None:
    node.create_pod("pulling", container("main", "sleep", image="registry.invalid/none:1"))
    node.create_pod("done", container("main", "exit:0"))
    await eventually(lambda: phase(node, "done") == "Succeeded", "pod done Succeeded")
    executor = ContainerExecutor(node.kubelet)
    for pod in ("pulling", "done"):
        with pytest.raises(InternalError) as refused:
            await executor.exec(request(node, pod, "main", "ls"))
        assert (refused.value.code, refused.value.message) == (500, 'container not found ("main")')


@on_node
async def test_an_exec_without_any_stream_is_refused(node: Node) -> None:
    node.create_pod("web", container("main", "sleep"))
    with pytest.raises(BadRequestError) as refused:
        await ContainerExecutor(node.kubelet).exec(request(node, "web", "main", "ls", stdout=False))
    assert refused.value.message == "you must specify at least 1 of stdin, stdout, stderr"


@on_node
async def test_a_command_the_runtime_cannot_start_ends_in_containerds_words(node: Node) -> None:
    node.create_pod("web", container("main", "sleep"))
    await eventually(lambda: running(node, "web"), "pod web Running")
    session = await ContainerExecutor(node.kubelet).exec(request(node, "web", "main", "nope"))
    result = await session.wait()
    assert result.exit_code is None
    assert re.fullmatch(
        r'error executing command in container: failed to exec in container: failed to start exec "[0-9a-f]{64}": '
        r'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": '
        r"executable file not found in \$PATH: unknown",
        result.message,
    )
