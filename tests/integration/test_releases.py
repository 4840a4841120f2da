"""The Helm engines against the test cluster: the whole life of a release through helm-python-sdk (and the
`helm` CLI where it is installed), and the suite outliving an engine that hangs or dies."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml

from kfval.embedded import launch
from kfval.kube import client, errors, progress
from kfval.kubeflow import helmengines, releases
from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking
from tests.support.sinks import RecordingSink

pytestmark = pytest.mark.integration
CHARTS = Path(__file__).resolve().parents[2] / "manifests/charts/kubeflow-installer"
RESOURCES = ["componentResources.limits.cpu=500m", "componentResources.limits.memory=1Gi"]


@pytest.fixture(params=["sdk", "cli"])
def engine(request: pytest.FixtureRequest, cluster: launch.ClusterInfo) -> helmengines.Engine:
    target = helmengines.HelmTarget(cluster.kubeconfig)
    if request.param == "sdk":
        return helmengines.SdkEngine(target)
    executable = shutil.which("helm")
    if executable is None:
        pytest.skip("the helm CLI is not on PATH (this machine has only helm-python-sdk)")
    return helmengines.CliEngine(executable, target)


def test_a_release_installed_upgraded_rolled_back_and_uninstalled(
    engine: helmengines.Engine, kubectl: Kubectl, namespace: str
) -> None:
    chosen = releases.Releases(engine, namespace)
    first = chosen.install(
        "kf", releases.Change(str(CHARTS / "1.0.0"), labels={"kfval.dev/run-id": "rtest"}), timeout=120
    )
    assert (first.number, first.status, first.chart_version) == (1, "deployed", "1.0.0")
    upgrade = releases.Change(str(CHARTS / "1.1.0"), values_files=[CHARTS / "upgrade-values.yaml"], settings=RESOURCES)
    assert chosen.upgrade("kf", upgrade, timeout=120).number == 2
    assert chosen.values("kf", timeout=60)["componentResources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
    manifest = list(yaml.safe_load_all(chosen.manifest("kf", timeout=60)))
    assert {doc["metadata"]["name"] for doc in manifest if doc} >= {"kf-installer", "kf-training-operator"}
    refused = releases.Change(str(CHARTS / "1.1.0"), settings=["componentResources.limits.memory=lots"])
    with pytest.raises(errors.ReleaseError, match="values don't meet the specifications of the schema"):
        chosen.upgrade("kf", refused, timeout=60)
    assert chosen.rollback("kf", 1, timeout=120).chart_version == "1.0.0"
    assert [(r.number, r.status) for r in chosen.history("kf", timeout=60)] == [
        (1, "superseded"), (2, "superseded"), (3, "deployed"),
    ]  # fmt: skip
    labelled = kubectl.run("get", "secrets", "-n", namespace, "-l", "owner=helm,kfval.dev/run-id=rtest", "-o", "name")
    assert labelled.stdout.count("secret/") == 3, "every revision's storage carries the run's label"
    chosen.uninstall("kf", timeout=120)
    chosen.uninstall("kf", timeout=60, missing_ok=True)
    left = kubectl.run("get", "deploy,secrets", "-n", namespace, "-l", "app.kubernetes.io/instance=kf", "-o", "name")
    assert left.stdout.strip() == ""


def test_while_helm_waits_the_release_pods_are_shown_by_phase(
    cluster: launch.ClusterInfo, conn: client.Connection, namespace: str
) -> None:
    sink = RecordingSink(interval_seconds=0.1)

    def pods(release: str) -> list[str]:
        items = conn.list("v1", "Pod", namespace, label_selector=f"app.kubernetes.io/instance={release}")["items"]
        return [progress.pod_phases(items)]

    chosen = releases.Releases(helmengines.SdkEngine(helmengines.HelmTarget(cluster.kubeconfig)), namespace)
    chosen.watch = helmengines.Watch(sink, pods)
    chosen.install("kf", releases.Change(str(CHARTS / "1.0.0")), timeout=120)
    lines = [status.line() for status in sink.shown]
    assert sink.finished_count >= 1
    assert lines and all(line.startswith("helm install kf: ") for line in lines), lines
    assert any(re.search(r"\d/\d pods? ", line) for line in lines), lines
    chosen.uninstall("kf", timeout=120)


def test_an_engine_that_hangs_is_stopped_and_its_last_words_reported(namespace: str, tmp_path: Path) -> None:
    """A server that takes the connection and never answers: Helm would wait on it; the child is killed
    once the action's timeout and the grace have passed."""
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    cluster = {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "silent",
        "clusters": [{"name": "silent", "cluster": cluster}],
        "users": [{"name": "silent", "user": {"token": "x"}}],
        "contexts": [{"name": "silent", "context": {"cluster": "silent", "user": "silent"}}],
    }
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    engine = helmengines.SdkEngine(helmengines.HelmTarget(kubeconfig), grace_seconds=1)
    started = time.monotonic()
    try:
        with pytest.raises(
            errors.ReleaseError, match=r"did not finish within 3 s .* helm-python-sdk engine was stopped"
        ):
            releases.Releases(engine, namespace).install("kf", releases.Change(str(CHARTS / "1.0.0")), timeout=2)
    finally:
        silent.close()
    assert time.monotonic() - started < 15


def helm_child() -> psutil.Process | None:
    """This process's child that runs Helm; other children may be zombies, which have no command line to read."""
    for process in psutil.Process().children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if "kfval.kubeflow.helmchild" in " ".join(process.cmdline()):
                return process
    return None


def test_an_engine_that_dies_leaves_the_suite_running_with_the_signal(
    cluster: launch.ClusterInfo, namespace: str
) -> None:
    """A Go panic kills the process that runs Helm: here the child, by a signal, never the suite."""
    engine = helmengines.SdkEngine(helmengines.HelmTarget(cluster.kubeconfig))
    chosen = releases.Releases(engine, namespace)
    broken = releases.Change(str(CHARTS / "1.0.0"), settings=["image=registry.invalid/never:1"])
    outcome: list[BaseException] = []

    def install() -> None:
        try:
            chosen.install("doomed", broken, timeout=120)
        except errors.ReleaseError as error:
            outcome.append(error)

    worker = threading.Thread(target=install)
    worker.start()
    child = eventually_blocking(helm_child, "the Helm child process", timeout=30)
    time.sleep(1)  # let Helm be inside its wait
    child.send_signal(signal.SIGKILL)
    worker.join(timeout=60)
    assert outcome and "the Helm engine (helm-python-sdk) died with signal 9 during install" in str(outcome[0]), outcome
