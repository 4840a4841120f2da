"""What `no object of release ... is left` counts against the embedded cluster: the release of the scenario's
namespace, not a release of the same name elsewhere (an earlier scenario's namespace still going, or a real
installation's)."""

from __future__ import annotations

import pytest

from kfval.kube import client
from kfval.kube.session import RunScope, ScenarioSession
from kfval.kubeflow import releases
from kfval.report.redaction import Redactor

pytestmark = pytest.mark.integration

LABEL = "app.kubernetes.io/instance"


def config_map(name: str, namespace: str, annotations: dict[str, str] | None = None) -> client.Body:
    metadata = {"name": name, "namespace": namespace, "labels": {LABEL: "kubeflow"}, "annotations": annotations or {}}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}


def test_only_the_scenarios_release_counts(conn: client.Connection, namespace: str) -> None:
    scope = RunScope(conn=conn, run_id="rleft", namespace_prefix="t", secrets=Redactor())
    session = ScenarioSession(scope, "leftovers")
    session.open()
    try:
        conn.create(config_map("mine", session.namespace), session.namespace)
        made_for_mine = {releases.RELEASE_NAMESPACE_ANNOTATION: session.namespace}
        conn.create(config_map("made-for-mine", namespace, made_for_mine), namespace)
        conn.create(config_map("another-release", namespace), namespace)
        left = releases.objects_left(session, "kubeflow", label=LABEL)
    finally:
        assert session.close(timeout_seconds=60) == []
    assert left == [f"ConfigMap {namespace}/made-for-mine", f"ConfigMap {session.namespace}/mine"]
