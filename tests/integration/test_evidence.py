"""The evidence bundle and pod logs, read from the embedded cluster after real pods and jobs ran."""

from __future__ import annotations

import pytest

from kfval.kube import checks, errors, evidence, waiting
from kfval.kube.client import Body, Connection

pytestmark = pytest.mark.integration

FIFTY_LINES_THEN_FAIL = "for i in $(seq 1 50); do echo line $i; done; echo oops >&2; exit 1"


def pod(name: str, script: str, *, app: str) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", script]}],
        },
    }


def wait_for(conn: Connection, namespace: str, *, app: str, phase: str, count: int = 1) -> None:
    waiting.wait_until(
        conn,
        api_version="v1",
        kind="Pod",
        namespace=namespace,
        label_selector=f"app={app}",
        check=checks.pods_in_phase((phase,), count),
        timeout_seconds=60,
        what=f"pods of {app} in phase {phase}",
    )


def test_evidence_of_a_failed_pod_shows_its_state_events_and_last_log_lines(conn: Connection, namespace: str) -> None:
    conn.create(pod("broken", FIFTY_LINES_THEN_FAIL, app="broken"), namespace)
    wait_for(conn, namespace, app="broken", phase="Failed")
    found = evidence.collect(conn, namespace, label_selector="app=broken", tail_lines=5)
    text = found.render()
    assert text.startswith(f'Evidence from namespace "{namespace}"\nPods (1):\n  broken: phase Failed; ')
    assert "    container main: terminated: exit code 1 (Error); restarts 0; ready False" in text
    assert "Normal  Started  pod/broken: Started container main" in text
    log = text.split("--- log of broken/main (last 5 lines) ---\n", 1)[1]
    assert log.splitlines()[:5] == ["line 47", "line 48", "line 49", "line 50", "oops"], log
    assert "line 46" not in text
    assert found.problems == ()


def test_evidence_of_a_failed_job_has_its_condition_timeline_and_only_its_pods(
    conn: Connection, namespace: str
) -> None:
    conn.create(pod("bystander", "true", app="other"), namespace)
    template = {
        "spec": {"restartPolicy": "Never", "containers": [pod("x", "exit 3", app="j")["spec"]["containers"][0]]}
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"backoffLimit": 0, "template": template},
    }
    conn.create(job, namespace)
    with pytest.raises(errors.WorkloadFailedError) as failed:
        waiting.wait_until(
            conn,
            api_version="batch/v1",
            kind="Job",
            namespace=namespace,
            name="j",
            check=checks.job_finished(success_condition="Complete"),
            timeout_seconds=60,
            what="the Job j to complete",
        )
    assert str(failed.value).startswith("Job j failed: BackoffLimitExceeded")
    text = failed.value.evidence
    assert 'Job "j" (batch/v1), conditions in the order they changed:' in text
    assert "Failed=True  BackoffLimitExceeded" in text
    assert "bystander:" not in text.split("Events")[0]
    assert "terminated: exit code 3 (Error)" in text


def test_evidence_records_what_is_missing_instead_of_raising(conn: Connection, namespace: str) -> None:
    found = evidence.collect(conn, namespace, job=("batch/v1", "Job", "nope"))
    assert found.job is not None
    assert not found.job.found
    assert 'Job "nope" (batch/v1): not found' in found.render()
    assert "Pods: none found" in found.render()
    missing_kind = evidence.collect(conn, namespace, job=("kubeflow.org/v9", "NoSuchJob", "x"))
    assert "NoSuchJob" in missing_kind.render()
