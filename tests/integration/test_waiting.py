"""Watch-based waits against the embedded cluster, through the suite's own Connection."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from kfval.kube import checks, errors, waiting, watching
from kfval.kube.client import Body, Connection

pytestmark = pytest.mark.integration


def configmap(name: str, **labels: str) -> Body:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {}}


def pod(name: str, *, image: str = "busybox", script: str = "true", labels: Mapping[str, str] | None = None) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(labels or {"app": name})},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": image, "command": ["sh", "-c", script]}],
        },
    }


def labelled(key: str, value: str) -> checks.Check:
    def check(objects: Mapping[str, Body]) -> checks.Verdict:
        have = [o for o in objects.values() if (o["metadata"].get("labels") or {}).get(key) == value]
        return checks.Verdict(done=bool(have), failure=None, waiting_for=f"label {key}={value}")

    return check


def patch_later(conn: Connection, namespace: str, *, delay: float, value: str) -> dict[str, float]:
    """Patch the ConfigMap `cm` after `delay`; returns a dict that receives the time the patch was sent."""
    stamps: dict[str, float] = {}

    def run() -> None:
        time.sleep(delay)
        stamps["sent"] = time.monotonic()
        conn.patch("v1", "ConfigMap", "cm", namespace, {"metadata": {"labels": {"step": value}}})

    threading.Thread(target=run, daemon=True).start()
    return stamps


def test_the_wait_returns_as_soon_as_the_state_is_reached(conn: Connection, namespace: str) -> None:
    conn.create(configmap("cm"), namespace)
    delays = []
    for step in range(5):
        stamps = patch_later(conn, namespace, delay=0.3 + 0.1 * step, value=str(step))
        found = waiting.wait_until(
            conn,
            api_version="v1",
            kind="ConfigMap",
            namespace=namespace,
            name="cm",
            check=labelled("step", str(step)),
            timeout_seconds=10,
            what=f"the label step={step}",
        )
        delays.append(time.monotonic() - stamps["sent"])
        assert found["cm"]["metadata"]["labels"]["step"] == str(step)
    # A one-second poll would be late by half a second on average; a watch is late by its delivery alone.
    assert sorted(delays)[2] < 0.1, delays
    assert max(delays) < 0.5, delays


def test_a_pod_that_completes_ends_the_wait_with_its_final_state(conn: Connection, namespace: str) -> None:
    conn.create(pod("quick", script="sleep 0.3"), namespace)
    found = waiting.wait_until(
        conn,
        api_version="v1",
        kind="Pod",
        namespace=namespace,
        label_selector="app=quick",
        check=checks.pods_completed(1),
        timeout_seconds=60,
        what="the pod quick to complete",
    )
    assert found["quick"]["status"]["phase"] == "Succeeded"


class ExpiringOnce:
    """Our own Connection seam with one 410 injected: the first watch is refused as too old."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lists = 0
        self.watches = 0

    def list(self, api_version: str, kind: str, namespace: str | None = None, **selectors: Any) -> Body:
        self.lists += 1
        return self.conn.list(api_version, kind, namespace, **selectors)

    def watch(self, api_version: str, kind: str, namespace: str | None, **options: Any) -> Iterator[Body]:
        self.watches += 1
        if self.watches == 1:
            raise errors.ExpiredError("too old resource version", status=410, reason="Expired")
        return self.conn.watch(api_version, kind, namespace, **options)


NOT_ROOT_CA = "metadata.name!=kube-root-ca.crt"
"""Every namespace gets the cluster's CA as this ConfigMap (as on a real cluster): not one of the test's."""


def test_a_410_in_the_middle_is_survived_by_re_listing(conn: Connection, namespace: str) -> None:
    conn.create(configmap("a"), namespace)
    source = ExpiringOnce(conn)
    states = watching.follow(
        source, "v1", "ConfigMap", namespace, field_selector=NOT_ROOT_CA, deadline=time.monotonic() + 20
    )
    assert set(next(states)) == {"a"}
    conn.create(configmap("b"), namespace)  # made while the (expiring) watch is not yet open
    assert set(next(states)) == {"a", "b"}  # the re-list after the 410 saw it
    assert (source.lists, source.watches) == (2, 1)
    conn.create(configmap("c"), namespace)
    assert set(next(states)) == {"a", "b", "c"}  # and the watch from the re-list's version delivers changes
    assert (source.lists, source.watches) == (2, 2)
    states.close()


def test_the_real_server_answers_a_stale_version_with_expired(conn: Connection, namespace: str) -> None:
    with pytest.raises(errors.ExpiredError):
        list(conn.watch("v1", "ConfigMap", namespace, resource_version="1", timeout_seconds=2))


def test_a_failing_pull_fails_the_wait_once_the_image_pull_grace_is_over(conn: Connection, namespace: str) -> None:
    conn.create(pod("nowhere", image="registry.invalid/no/such-image:1.0"), namespace)
    started = time.monotonic()
    with pytest.raises(errors.WorkloadFailedError) as failed:
        waiting.wait_until(
            conn,
            api_version="v1",
            kind="Pod",
            namespace=namespace,
            label_selector="app=nowhere",
            check=checks.pods_in_phase(("Running",), 1, image_pull_grace_seconds=3),
            timeout_seconds=120,
            what="the pod nowhere to run",
        )
    assert 3 <= time.monotonic() - started < 30
    message = str(failed.value)
    assert message.startswith('pod nowhere cannot start: container main cannot pull image "registry.invalid'), message
    assert "ErrImagePull" in message or "ImagePullBackOff" in message
    assert "registry.invalid/no/such-image:1.0" in message
    assert message.endswith("(while waiting for the pod nowhere to run)")
    assert "phase Pending" in failed.value.evidence


def test_a_timeout_names_phase_waiting_reason_events_and_time_per_phase(conn: Connection, namespace: str) -> None:
    conn.create(pod("stuck", image="registry.invalid/no/such-image:1.0"), namespace)
    waiting.wait_until(  # let it reach the back-off first, so the last state carries the waiting reason
        conn,
        api_version="v1",
        kind="Pod",
        namespace=namespace,
        name="stuck",
        check=reason_is("ImagePullBackOff"),
        timeout_seconds=60,
        what="the back-off",
    )
    with pytest.raises(errors.WaitTimeoutError) as timed_out:
        waiting.wait_until(
            conn,
            api_version="v1",
            kind="Pod",
            namespace=namespace,
            name="stuck",
            check=checks.gone(),
            timeout_seconds=2,
            what="the pod stuck to be deleted",
        )
    message = str(timed_out.value)
    assert message.startswith(
        f'timed out after 2.0 s waiting for the pod stuck to be deleted (Pod "stuck" in namespace "{namespace}")'
    ), message
    assert "pod stuck: metadata: want absent, have present" in message
    assert "phase Pending" in message
    assert 'container main waiting: ImagePullBackOff: Back-off pulling image "registry.invalid' in message
    assert "Warning  Failed  pod/stuck: Error: ImagePullBackOff" in message
    assert re.search(r"time per phase:\n  pod stuck: Pending 2\.\d s\n", message), message
    assert timed_out.value.evidence.startswith(f'Evidence from namespace "{namespace}"')


def reason_is(reason: str) -> checks.Check:
    def check(objects: Mapping[str, Body]) -> checks.Verdict:
        reasons = [
            ((s.get("state") or {}).get("waiting") or {}).get("reason")
            for o in objects.values()
            for s in (o.get("status") or {}).get("containerStatuses") or []
        ]
        return checks.Verdict(done=reason in reasons, failure=None, waiting_for=reason)

    return check


def test_a_timeout_tracks_each_phase_the_pod_went_through(conn: Connection, namespace: str) -> None:
    conn.create(pod("slow", script="sleep 30"), namespace)
    with pytest.raises(errors.WaitTimeoutError) as timed_out:
        waiting.wait_until(
            conn,
            api_version="v1",
            kind="Pod",
            namespace=namespace,
            label_selector="app=slow",
            check=checks.pods_completed(1),
            timeout_seconds=4,
            what="the pod slow to complete",
        )
    message = str(timed_out.value)
    assert "pod slow: status.phase: want Succeeded, have Running" in message
    assert "container main running since" in message
    phases = message.split("time per phase:\n", 1)[1].splitlines()[0]
    assert phases.startswith("  pod slow: ") and phases.rstrip().endswith(" s"), phases
    assert "Running" in phases
