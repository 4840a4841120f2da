"""The suite's usage sampler against the embedded cluster: it reads PodMetrics and pods through the
suite's own client, and the dimensioning check names a container OOMKilled and one held at its CPU limit."""

from __future__ import annotations

import pytest

from kfval.kube import client, usage
from kfval.kube.session import RunScope, ScenarioSession
from kfval.report import dimensioning
from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: burner}
spec:
  containers:
  - name: main
    image: python:3.11
    command: ["python", "-c", "while True: pass"]
    resources:
      requests: {cpu: 50m, memory: 16Mi}
      limits: {cpu: 100m}
---
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: python:3.11
    command: ["python", "-c", "import time; b = bytearray(300 * 1024 * 1024); time.sleep(60)"]
    resources:
      limits: {memory: 64Mi}
"""


def test_the_sampler_measures_pods_and_the_check_names_an_oom_kill_and_a_throttled_container(
    conn: client.Connection, kubectl: Kubectl, namespace: str
) -> None:
    sampler = usage.UsageSampler(conn, namespace, interval_seconds=0.3)
    sampler.start()
    try:
        kubectl.run("apply", "-n", namespace, "-f", "-", stdin=PODS)

        def measured() -> list[usage.ContainerUsage] | None:
            records = {record.pod: record for record in sampler.records()}
            burner, hog = records.get("burner"), records.get("hog")
            done = burner is not None and burner.readings >= 3 and hog is not None and hog.oom_killed
            return list(records.values()) if done else None

        records = eventually_blocking(measured, "three readings of the burner and the hog's OOM kill", timeout=60)
    finally:
        sampler.stop()
    assert sampler.problem is None
    burner = next(record for record in records if record.pod == "burner")
    assert burner.limits == {"cpu": usage.quantities.parse("100m")}
    assert burner.peak_cpu > usage.quantities.parse("100m") and burner.cpu_seconds > 0
    assert burner.peak_memory > 0
    rows = [dimensioning.Row(**record.figures()) for record in records]
    found = dimensioning.problems(rows, max_throttled_share=0.5)
    assert any(line.startswith("hog/main was OOMKilled (memory limit 64Mi") for line in found), found
    assert any(line.startswith("burner/main ran at its CPU limit (100m)") for line in found), found
    assert "cpu over request" in next(row for row in rows if row.pod == "burner").flags()


class Secrets:
    """A secrets sink that keeps nothing: the session registers none here."""

    def register(self, value: str) -> None:
        del value


def test_a_session_samples_from_its_namespace_until_it_closes(conn: client.Connection) -> None:
    run = RunScope(conn=conn, run_id="rusage", namespace_prefix="t", secrets=Secrets())
    session = ScenarioSession(run, "usage")
    session.open()
    try:
        assert session.usage is not None
        session.usage.sample()
        assert session.usage.problem is None
    finally:
        assert session.close(timeout_seconds=60) == []
    assert session.usage is not None and not session.usage.running
