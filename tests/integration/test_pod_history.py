"""The pod history against the embedded cluster: a pod that ran and was deleted before cleanup still counts
towards how long the scenario's pods ran, with the end its last status gave."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kfval.kube import client, podhistory, podtimes
from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

POD = """
apiVersion: v1
kind: Pod
metadata: {name: brief}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: python:3.11
    command: ["python", "-c", "import time; time.sleep(2)"]
"""


def test_a_deleted_pod_is_kept_as_last_seen_with_its_containers_end(
    conn: client.Connection, kubectl: Kubectl, namespace: str
) -> None:
    history = podhistory.PodHistory(conn, namespace)
    history.start()
    try:
        kubectl.run("apply", "-n", namespace, "-f", "-", stdin=POD)
        kubectl.run("wait", "-n", namespace, "pod/brief", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=60s")
        kubectl.run("delete", "-n", namespace, "pod/brief", "--wait=true")
        assert conn.list("v1", "Pod", namespace)["items"] == []

        def kept() -> list[tuple[dict, datetime]] | None:
            gone = history.gone(set())
            finished = [
                (pod, seen)
                for pod, seen in gone
                if all("terminated" in (s.get("state") or {}) for s in pod["status"].get("containerStatuses") or [{}])
            ]
            return finished or None

        [(pod, seen)] = eventually_blocking(kept, "the deleted pod, as last seen")
    finally:
        history.stop()
    assert history.problem is None
    assert pod["metadata"]["name"] == "brief"
    ran = podtimes.busy_seconds(podtimes.intervals([pod], now=datetime.now(UTC)))
    assert 1 <= ran <= 4, ran  # two seconds of sleep, read from whole-second timestamps
    assert seen <= datetime.now(UTC)
