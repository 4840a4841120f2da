"""`pods/exec` as users meet it: kubectl 1.32 (WebSocket, v5) and the Python client's `stream()`.

Each test runs a command in a real pod and checks what the client prints or returns: the command's
output and exit code, stdin reaching it and ending, a terminal, and the words of every refusal.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import pty
import select
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from tests.support.host import needs_root_and
from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.integration

WEB = """
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: main
    image: busybox
    env: [{name: GREETING, value: hello-from-spec}]
    command: ["sh", "-c", "echo marked > /tmp/mark; cd /tmp && exec python -m http.server --bind 127.0.0.1 8080"]
    readinessProbe:
      exec: {command: ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 8080))"]}
      periodSeconds: 1
"""
TERMINAL_SECONDS = 20.0


@pytest.fixture
def web(kubectl: Kubectl, namespace: str) -> str:
    """A ready pod `web` whose container wrote /tmp/mark and serves /tmp on 127.0.0.1:8080."""
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=WEB)
    kubectl.run("wait", "-n", namespace, "--for=condition=Ready", "pod/web", "--timeout=60s")
    return namespace


def kubectl_exec(kubectl: Kubectl, namespace: str, *args: str, stdin: str | None = None) -> Any:
    return kubectl.run("exec", "-n", namespace, *args, check=False, stdin=stdin)


def test_exec_runs_with_the_containers_environment(kubectl: Kubectl, web: str) -> None:
    result = kubectl_exec(kubectl, web, "web", "--", "env")
    assert result.returncode == 0, result.stderr
    assert "GREETING=hello-from-spec" in result.stdout.splitlines()
    assert "HOSTNAME=web" in result.stdout.splitlines()


@needs_root_and("bwrap", "ip")
def test_exec_enters_the_running_containers_filesystem_and_network(kubectl: Kubectl, web: str) -> None:
    """/tmp is the container's own tmpfs and 127.0.0.1 its own loopback: only its namespaces hold them."""
    fetch = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/mark').read().decode())"
    files = kubectl_exec(kubectl, web, "web", "--", "cat", "/tmp/mark")
    network = kubectl_exec(kubectl, web, "web", "--", "python", "-c", fetch)
    assert (files.returncode, files.stdout) == (0, "marked\n")
    assert (network.returncode, network.stdout) == (0, "marked\n\n")


def test_a_command_longer_than_aiohttps_default_line_limit_runs(kubectl: Kubectl, web: str) -> None:
    """kube-apiserver takes request lines up to Go's 1 MiB header limit: a 40 KiB script passed with -c runs."""
    script = "x=" + "a" * 40_000 + "; echo ${#x}"
    result = kubectl_exec(kubectl, web, "web", "--", "sh", "-c", script)
    assert (result.returncode, result.stdout) == (0, "40000\n"), result.stderr


def test_a_non_zero_exit_is_kubectls_exit_code_with_its_message(kubectl: Kubectl, web: str) -> None:
    result = kubectl_exec(kubectl, web, "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3
    assert result.stdout == "out\n"
    assert result.stderr == "err\ncommand terminated with exit code 3\n"


def test_piped_stdin_reaches_the_command_which_sees_its_end(kubectl: Kubectl, web: str) -> None:
    result = kubectl_exec(kubectl, web, "-i", "web", "--", "cat", stdin="first line\nsecond line\n")
    assert (result.returncode, result.stdout) == (0, "first line\nsecond line\n")


class Terminal:
    """kubectl driven through a pseudo-terminal, as a person at a terminal drives it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child becomes kubectl
            os.execvpe(argv[0], argv, env)
        self.seen = b""

    def read_until(self, wanted: bytes) -> bytes:
        deadline = time.monotonic() + TERMINAL_SECONDS
        while wanted not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:  # kubectl has exited and closed the terminal
                    break
        return self.seen

    def type(self, text: bytes) -> None:
        os.write(self.fd, text)

    def exit_code(self) -> int:
        self.read_until(b"\0never")
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_an_interactive_shell_through_a_terminal(kubectl: Kubectl, web: str) -> None:
    terminal = Terminal(kubectl.argv("exec", "-n", web, "-it", "web", "--", "sh"), kubectl.env())
    terminal.read_until(b"# ")
    terminal.type(b"echo $((6*7))\r")
    assert b"\r\n42\r\n" in terminal.read_until(b"42\r\n")
    terminal.type(b"exit 4\r")
    assert terminal.exit_code() == 4
    assert b"command terminated with exit code 4" in terminal.seen


UNSCHEDULED = """
apiVersion: v1
kind: Pod
metadata: {name: unscheduled}
spec:
  schedulerName: nobody
  containers: [{name: main, image: busybox, command: [sleep, "600"]}]
"""
PULLING = """
apiVersion: v1
kind: Pod
metadata: {name: pulling}
spec:
  containers: [{name: main, image: "registry.invalid/no/such-image:1.0"}]
"""
DONE = """
apiVersion: v1
kind: Pod
metadata: {name: done}
spec:
  restartPolicy: Never
  containers: [{name: main, image: busybox, command: ["true"]}]
"""


@pytest.fixture
def refusing(kubectl: Kubectl, web: str) -> str:
    """Pods an exec cannot enter: never scheduled, its image never pulled, already completed."""
    for manifest in (UNSCHEDULED, PULLING, DONE):
        kubectl.run("apply", "-n", web, "-f", "-", stdin=manifest)
    kubectl.run("wait", "-n", web, "--for=jsonpath={.status.phase}=Succeeded", "pod/done", "--timeout=60s")
    waiting = "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ImagePullBackOff"
    kubectl.run("wait", "-n", web, waiting, "pod/pulling", "--timeout=60s")
    return web


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "--", "ls"), 'Error from server (NotFound): pods "nope" not found'),
        (
            ("web", "-c", "other", "--", "ls"),
            "Error from server (BadRequest): container other is not valid for pod web",
        ),
        (("unscheduled", "--", "ls"), "Error from server (BadRequest): pod unscheduled does not have a host assigned"),
        (
            ("pulling", "--", "ls"),
            'error: Internal error occurred: unable to upgrade connection: container not found ("main")',
        ),
        (("done", "--", "ls"), "error: cannot exec into a container in a completed pod; current phase is Succeeded"),
    ],
)
def test_what_kubectl_says_when_an_exec_is_refused(
    kubectl: Kubectl, refusing: str, args: tuple[str, ...], message: str
) -> None:
    result = kubectl_exec(kubectl, refusing, *args)
    assert (result.returncode, result.stderr) == (1, message + "\n")


def test_a_command_the_runtime_cannot_start_is_an_internal_error_in_containerds_words(
    kubectl: Kubectl, web: str
) -> None:
    result = kubectl_exec(kubectl, web, "web", "--", "no-such-tool")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: Internal error occurred: Internal error occurred: error executing command in container: "
        'failed to exec in container: failed to start exec "'
    )
    assert result.stderr.endswith(
        'OCI runtime exec failed: exec failed: unable to start container process: exec: "no-such-tool": '
        "executable file not found in $PATH: unknown\n"
    )


def test_exec_needs_rbac_on_pods_exec(kubectl: Kubectl, web: str) -> None:
    """kubectl 1.32 asks with a GET (`get pods/exec`); refused, it falls back to SPDY (`create pods/exec`)."""
    kubectl.run("create", "role", "pod-reader", "-n", web, "--verb=get", "--resource=pods")
    kubectl.run("create", "rolebinding", "alice-reads", "-n", web, "--role=pod-reader", "--user=alice")
    refused = kubectl_exec(kubectl, web, "--as=alice", "web", "--", "true")
    kubectl.run("create", "role", "exec-getter", "-n", web, "--verb=get", "--resource=pods/exec")
    kubectl.run("create", "rolebinding", "alice-execs", "-n", web, "--role=exec-getter", "--user=alice")
    allowed = kubectl_exec(kubectl, web, "--as=alice", "web", "--", "echo", "allowed")
    assert (refused.returncode, refused.stderr) == (
        1,
        f'Error from server (Forbidden): pods "web" is forbidden: User "alice" cannot create resource '
        f'"pods/exec" in API group "" in the namespace "{web}"\n',
    )
    assert (allowed.returncode, allowed.stdout) == (0, "allowed\n")


# -- the Python client ---------------------------------------------------------------------------


@pytest.fixture
def core(api: ApiClient) -> CoreV1Api:
    return CoreV1Api(api)


@contextlib.contextmanager
def socket_left_open_by_the_client() -> Iterator[None]:
    """The Python client never closes the socket of a preloaded `stream()` (websocket_call returns
    without closing its WSClient) nor of a refused handshake: collect it here, where that is expected."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@contextlib.contextmanager
def connect(core: CoreV1Api, namespace: str, command: list[str], **kwargs: Any) -> Iterator[Any]:
    """`stream()` without preloading: the WSClient, to read each channel and the return code; closed after."""
    response = stream(
        core.connect_get_namespaced_pod_exec,
        "web",
        namespace,
        command=command,
        stdout=True,
        stderr=True,
        _preload_content=False,
        **kwargs,
    )
    try:
        yield response
    finally:
        response.close()
        response.sock.shutdown()  # websocket-client leaves the socket open once it has answered the server's close


def test_the_python_client_reads_stdout_stderr_and_the_return_code(core: CoreV1Api, web: str) -> None:
    with connect(core, web, ["sh", "-c", "echo out; echo err >&2; exit 7"], stdin=False) as response:
        response.run_forever(timeout=30)
        assert (response.read_stdout(), response.read_stderr(), response.returncode) == ("out\n", "err\n", 7)
        assert response.subprotocol == "v5.channel.k8s.io"


def test_the_python_client_preloads_what_the_command_wrote(core: CoreV1Api, web: str) -> None:
    with socket_left_open_by_the_client():
        output = stream(core.connect_get_namespaced_pod_exec, "web", web, command=["echo", "preloaded"], stdout=True)
    assert output == "preloaded\n"


def test_the_python_client_writes_stdin_and_closes_it(core: CoreV1Api, web: str) -> None:
    with connect(core, web, ["cat"], stdin=True) as response:
        response.write_stdin("through stdin\n")
        response.close_channel(0)
        response.run_forever(timeout=30)
        assert (response.read_stdout(), response.returncode) == ("through stdin\n", 0)


def test_a_v4_client_reads_the_exit_code_in_the_kubelets_words(core: CoreV1Api, web: str) -> None:
    v4 = {"sec-websocket-protocol": "v4.channel.k8s.io"}
    with connect(core, web, ["sh", "-c", "exit 7"], stdin=False, _headers=v4) as response:
        response.run_forever(timeout=30)
        status = json.loads(response.peek_channel(3))
        assert (response.subprotocol, response.returncode) == ("v4.channel.k8s.io", 7)
    assert (
        status["message"]
        == "command terminated with non-zero exit code: error executing command [sh -c exit 7], exit code 7"
    )
    assert response.returncode == 7


@pytest.fixture
def pulling(kubectl: Kubectl, namespace: str) -> str:
    """A pod `web` whose container never starts: its image cannot be pulled."""
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=PULLING.replace("name: pulling", "name: web"))
    waiting = "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ImagePullBackOff"
    kubectl.run("wait", "-n", namespace, waiting, "pod/web", "--timeout=60s")
    return namespace


def test_a_container_that_does_not_run_refuses_a_v4_client_before_the_upgrade(core: CoreV1Api, pulling: str) -> None:
    v4 = {"sec-websocket-protocol": "v4.channel.k8s.io"}
    with socket_left_open_by_the_client():
        try:
            with connect(core, pulling, ["ls"], _headers=v4):
                pytest.fail("the kubelet upgraded an exec into a container that does not run")
        except ApiException as error:  # the error (and the socket its traceback holds) goes at the block's end
            refusal = str(error)
    assert "Handshake status 500" in refusal
    assert 'container not found ("main")' in refusal


def test_a_container_that_does_not_run_tells_a_v5_client_on_the_error_channel(core: CoreV1Api, pulling: str) -> None:
    with connect(core, pulling, ["ls"]) as response:
        response.run_forever(timeout=30)
        status = json.loads(response.read_channel(3))
    assert (status["reason"], status["message"]) == (
        "InternalError",
        'Internal error occurred: unable to upgrade connection: container not found ("main")',
    )
