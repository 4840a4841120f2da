"""The suite run as a user runs it (a kubeconfig target) through the fault proxy (tests/faults).

- MNIST training (a PyTorchJob with a master and a worker; a TFJob with a parameter server and two workers)
  passes through a 5 s outage, an 8 s stall and another 5 s outage played while the job trains (it may
  finish during one: the wait must see that), each
  in the evidence of the step that met it.
- The quick PyTorchJob scenario passes through 5 s of 503 answers (a load balancer with no healthy API
  server behind it).
- An outage longer than `timeouts.api_outage` fails the step naming the server, the time and the last
  error, and the run's namespaces are gone once the API returns. It stands in for the issue's 90 s outage
  with `timeouts.api_outage=10` and a 20 s outage: the same behaviour at a sixth of the wait.

Each test prints its timings (`fault timings:`) against a run without faults: the closing note's figures.
"""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from kfval.embedded import launch
from kfval.kube import client, errors
from tests.faults.proxy import FaultProxy
from tests.faults.script import Cue, Script
from tests.support.kubectl import Kubectl
from tests.support.suites import SuiteRun, finished, run_suite, suite_argv

pytestmark = pytest.mark.integration
FEATURE = "features/pytorchjob.feature"
WIRING = "2"
"""radish's id of the scenario that submits the quick PyTorchJob "wiring" (the Outline is 1)."""
TRAINING = "tests/fixtures/suite/long.feature"
"""One MNIST PyTorchJob (a master and a worker) trained to success through the feature's own steps: the
Outline of features/pytorchjob.feature trains twice (1 and 2 workers), which radish cannot split."""
TF_FEATURE = "features/tfjob.feature"
TF_TRAINING = "1"
"""radish's id of "One parameter server and two workers train MNIST"."""
TF_LONGER_TRAINING = ("variables.train_steps=12000",)
"""Its 1000 steps take about 3 s here: the run would end between the first outage and the stall."""
FAULT_GAP_SECONDS = 2.5
"""Between two faults: longer than the suite's longest pause between tries (2 s), so that it can reach the
server between them if it has a request to make."""
RUN_SECONDS = 300


class Training(NamedTuple):
    """A training scenario to play the faults against, and how many of its pods train at once."""

    feature: str
    scenarios: str | None
    pods: int
    name: str
    overrides: tuple[str, ...] = ()
    """Settings for both runs: enough training that the run outlasts the three faults (23 s with the gaps)."""


class Proxied(NamedTuple):
    """The fault proxy, and a kubeconfig of the cluster whose server is that proxy."""

    proxy: FaultProxy
    kubeconfig: Path


@pytest.fixture
def proxied(proxy: FaultProxy, cluster: launch.ClusterInfo, tmp_path: Path) -> Proxied:
    return Proxied(proxy, proxy.kubeconfig(cluster.kubeconfig, tmp_path / "kubeconfig"))


@pytest.fixture
def proxy(cluster: launch.ClusterInfo) -> Iterator[FaultProxy]:
    with FaultProxy.for_cluster(cluster) as running:
        yield running


def job_exists(conn: client.Connection, prefix: str) -> Callable[[], bool]:
    """Whether the run (its namespaces start with `prefix`) has its PyTorchJob "wiring" in the cluster."""

    def probe() -> bool:
        try:
            jobs = conn.list("kubeflow.org/v1", "PyTorchJob", None, field_selector="metadata.name=wiring")["items"]
        except errors.ClusterError:
            return False
        return any(job["metadata"]["namespace"].startswith(prefix) for job in jobs)

    return probe


def pods_running(conn: client.Connection, prefix: str, *, count: int) -> Callable[[], bool]:
    """Whether `count` pods of the run (namespaces starting with `prefix`) run."""

    def probe() -> bool:
        pods = conn.list("v1", "Pod", None, field_selector="status.phase=Running")["items"]
        return len([pod for pod in pods if pod["metadata"]["namespace"].startswith(prefix)]) >= count

    return probe


def namespace_exists(conn: client.Connection, prefix: str) -> Callable[[], bool]:
    def probe() -> bool:
        names = [item["metadata"]["name"] for item in conn.list("v1", "Namespace")["items"]]
        return any(name.startswith(prefix) for name in names)

    return probe


def without_faults(
    feature: str, kubeconfig: Path, reports: Path, *overrides: str, scenarios: str | None = None
) -> float:
    """The wall time of a run through the proxy without faults, which must pass: the figure to compare with."""
    reports.mkdir()
    started = time.monotonic()
    run = run_suite(feature, kubeconfig, reports, *overrides, scenarios=scenarios, timeout=RUN_SECONDS)
    assert run.returncode == 0, run.error_messages() or run.output
    return time.monotonic() - started


def run_with_faults(argv: list[str], reports: Path, script: Script) -> tuple[SuiteRun, float]:
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with script:
            output, _ = process.communicate(timeout=RUN_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
    return finished(process, reports, output), time.monotonic() - started


def outage_evidence(run: SuiteRun) -> list[tuple[str, str]]:
    """(step, line) for each outage line embedded in the Cucumber JSON."""
    found = []
    for feature in run.cucumber:
        for element in feature["elements"]:
            for step in element["steps"]:
                for embedding in step.get("embeddings", []):
                    if str(embedding.get("name", "")).startswith("API outages"):
                        text = base64.b64decode(embedding["data"]).decode()
                        found += [(step["name"], line) for line in text.splitlines()]
    return found


def left_namespaces(kubectl: Kubectl, run: SuiteRun) -> str:
    assert run.run_id is not None, run.output
    return kubectl.run("get", "namespaces", "-l", f"kfval.dev/run-id={run.run_id}", "-o", "name").stdout.strip()


@pytest.mark.usefixtures("mnist_cache")
@pytest.mark.parametrize(
    "training",
    [
        pytest.param(Training(TRAINING, None, 2, "MNIST PyTorchJob (1 worker)"), id="pytorchjob"),
        pytest.param(
            Training(TF_FEATURE, TF_TRAINING, 3, "MNIST TFJob (1 ps, 2 workers)", TF_LONGER_TRAINING), id="tfjob"
        ),
    ],
)
def test_mnist_training_passes_through_two_outages_and_a_stall(
    proxied: Proxied, conn: client.Connection, kubectl: Kubectl, tmp_path: Path, training: Training
) -> None:
    feature, scenarios, pods = training.feature, training.scenarios, training.pods
    proxy, kubeconfig = proxied
    calm_seconds = without_faults(feature, kubeconfig, tmp_path / "calm", *training.overrides, scenarios=scenarios)

    prefix = f"af{uuid.uuid4().hex[:6]}"
    cues = [
        Cue("the training pods running", pods_running(conn, prefix, count=pods), lambda faults: faults.outage(5.0)),
        Cue("the end of the first outage", lambda: True, lambda faults: faults.stall(8.0)),
        Cue("the end of the stall", lambda: True, lambda faults: faults.outage(5.0)),
    ]
    faulted = tmp_path / "faulted"
    faulted.mkdir()
    argv = suite_argv(
        feature, kubeconfig, faulted, f"target.namespace_prefix={prefix}", *training.overrides, scenarios=scenarios
    )
    run, seconds = run_with_faults(argv, faulted, Script(proxy, cues, timeout=RUN_SECONDS, gap=FAULT_GAP_SECONDS))

    assert run.returncode == 0, run.error_messages() or run.output
    assert [fault.kind for fault in proxy.faults] == ["outage", "stall", "outage"]
    evidence = outage_evidence(run)
    assert evidence, run.output
    assert all(proxy.server in line and "then it answered again" in line for _step, line in evidence), evidence
    recorded = [float(line.split(" for ")[1].split(" s,")[0]) for _step, line in evidence]
    assert sum(recorded) >= 5.0 + 8.0 + 5.0 - 1.0, recorded  # every fault is in some outage's record
    assert left_namespaces(kubectl, run) == ""
    print(
        f"fault timings: {training.name}, faults outage 5 s, stall 8 s, outage 5 s (18 s, "
        f"{FAULT_GAP_SECONDS:g} s apart): without faults {calm_seconds:.1f} s, with faults {seconds:.1f} s, "
        f"extra {seconds - calm_seconds:.1f} s; outages recorded (s): {recorded}"
    )


def test_the_quick_pytorchjob_passes_through_503_answers(
    proxy: FaultProxy, cluster: launch.ClusterInfo, conn: client.Connection, kubectl: Kubectl, tmp_path: Path
) -> None:
    kubeconfig = proxy.kubeconfig(cluster.kubeconfig, tmp_path / "kubeconfig")
    calm_seconds = without_faults(FEATURE, kubeconfig, tmp_path / "calm", scenarios=WIRING)

    prefix = f"af{uuid.uuid4().hex[:6]}"
    cues = [Cue("the run's namespace", namespace_exists(conn, prefix), lambda faults: faults.unavailable(5.0))]
    argv = suite_argv(FEATURE, kubeconfig, tmp_path, f"target.namespace_prefix={prefix}", scenarios=WIRING)
    run, seconds = run_with_faults(argv, tmp_path, Script(proxy, cues, timeout=RUN_SECONDS))

    assert run.returncode == 0, run.error_messages() or run.output
    evidence = outage_evidence(run)
    assert any("last error: 503 ServiceUnavailable" in line for _step, line in evidence), evidence
    assert left_namespaces(kubectl, run) == ""
    print(
        f"fault timings: quick PyTorchJob, 503 answers for 5 s: without faults {calm_seconds:.1f} s, "
        f"with faults {seconds:.1f} s, extra {seconds - calm_seconds:.1f} s"
    )


def test_an_outage_past_the_bound_fails_the_step_and_the_run_leaves_nothing_once_the_api_returns(
    proxy: FaultProxy, cluster: launch.ClusterInfo, conn: client.Connection, kubectl: Kubectl, tmp_path: Path
) -> None:
    kubeconfig = proxy.kubeconfig(cluster.kubeconfig, tmp_path / "kubeconfig")
    prefix = f"af{uuid.uuid4().hex[:6]}"
    cues = [Cue("the PyTorchJob wiring", job_exists(conn, prefix), lambda faults: faults.outage(20.0))]
    overrides = (f"target.namespace_prefix={prefix}", "timeouts.api_outage=10")
    argv = suite_argv(FEATURE, kubeconfig, tmp_path, *overrides, scenarios=WIRING)
    run, seconds = run_with_faults(argv, tmp_path, Script(proxy, cues, timeout=RUN_SECONDS))

    assert run.returncode != 0, run.output
    [failed] = run.failed_steps()
    message = failed["result"]["error_message"].splitlines()[0]  # the traceback follows, as in every report
    assert message.startswith(f"ApiOutageError: the API server {proxy.server}"), message
    assert "has been unreachable for 1" in message and "timeouts.api_outage (10 s)" in message, message
    assert "last error: ConnectionRefusedError" in message, message
    assert any("still did not answer" in line for _step, line in outage_evidence(run)), run.output
    assert left_namespaces(kubectl, run) == "", "the run's namespace outlived the outage"
    print(f"fault timings: outage 20 s past timeouts.api_outage=10: the run took {seconds:.1f} s and failed")
