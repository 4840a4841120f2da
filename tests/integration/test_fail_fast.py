"""A wait on a job ends as soon as the job can never run, not when the training timeout runs out: its pods
cannot pull their image (past the image-pull grace), cannot even name an image, miss a Secret key, or are
refused by an admission webhook. Driven through the suite's own session and training waits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kfval.kube import applying, client, errors, manifests
from kfval.kube.session import RunScope, ScenarioSession
from kfval.kubeflow import notebooks, training
from kfval.report.redaction import Redactor

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
TRAINING_TIMEOUT_SECONDS = 300.0
GRACE_SECONDS = 3.0


def job(name: str, *, image: str, env: str = "", labels: str = "") -> str:
    return f"""\
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {{name: {name}}}
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      restartPolicy: OnFailure
      template:
        metadata: {{labels: {{{labels}}}}}
        spec:
          containers:
          - name: pytorch
            image: "{image}"
            command: [python3, -c, "print('never')"]
            env: [{env}]
"""


@pytest.fixture
def session(conn: client.Connection) -> Iterator[ScenarioSession]:
    scope = RunScope(
        conn=conn,
        run_id="rfast",
        namespace_prefix="t",
        secrets=Redactor(),
        image_pull_grace_seconds=GRACE_SECONDS,
        namespace_labels=notebooks.PROFILE_LABELS,
    )
    opened = ScenarioSession(scope, "fail fast")
    opened.open()
    yield opened
    assert opened.close(timeout_seconds=60) == []


def failure_of(session: ScenarioSession, text: str, name: str) -> tuple[str, float]:
    documents = manifests.render_text(text, {}, source="test")
    applying.apply(session.conn, documents, namespace=session.namespace, labels=session.labels)
    started = time.monotonic()
    with pytest.raises(errors.WorkloadFailedError) as failed:
        training.wait_finished(session, "PyTorchJob", name, timeout=TRAINING_TIMEOUT_SECONDS)
    return str(failed.value), time.monotonic() - started


def test_a_job_whose_image_cannot_be_pulled_fails_once_the_grace_is_over(session: ScenarioSession) -> None:
    message, took = failure_of(session, job("pull", image="registry.invalid/kfval/nope:1"), "pull")
    assert GRACE_SECONDS <= took < 25, f"took {took:.1f} s"
    assert message.startswith(
        'pod pull-master-0 cannot start: container pytorch cannot pull image "registry.invalid/kfval/nope:1" (for '
    ), message
    assert "ErrImagePull" in message or "ImagePullBackOff" in message
    assert message.endswith('(while waiting for PyTorchJob "pull" to finish)')


def test_a_job_whose_image_reference_cannot_be_parsed_fails_at_once(session: ScenarioSession) -> None:
    message, took = failure_of(session, job("upper", image="Busybox:1"), "upper")
    assert took < 10, f"took {took:.1f} s"
    assert message.startswith(
        "pod upper-master-0 cannot start: container pytorch: InvalidImageName: Failed to apply default image tag "
        '"Busybox:1": couldn\'t parse image reference "Busybox:1": invalid reference format: repository name '
        "must be lowercase"
    ), message


def test_a_job_whose_pod_misses_a_secret_key_fails_at_once(session: ScenarioSession) -> None:
    env = "{name: TOKEN, valueFrom: {secretKeyRef: {name: absent, key: token}}}"
    message, took = failure_of(session, job("secret", image="busybox", env=env), "secret")
    assert took < 10, f"took {took:.1f} s"
    assert message.startswith(
        'pod secret-master-0 cannot start: container pytorch: CreateContainerConfigError: secret "absent" not found'
    ), message


def test_a_job_whose_pods_an_admission_webhook_refuses_fails_at_once(session: ScenarioSession) -> None:
    for name, value in (("alpha", "a"), ("beta", "b")):
        session.apply(MANIFESTS / "poddefault-env.yaml", {"name": name, "variable": "POD_DEFAULT", "value": value})
    message, took = failure_of(session, job("refused", image="busybox", labels='testing: "true"'), "refused")
    assert took < 10, f"took {took:.1f} s"
    assert message.startswith('PyTorchJob "refused" cannot create its pods: FailedCreatePod: Error creating: '), message
    assert "conflict occurred while applying poddefaults: alpha,beta" in message
