"""A scenario's session against the test cluster: its namespace, and a cleanup that runs what it deferred
(a Helm uninstall) before it deletes what it created, newest first, reporting problems instead of raising."""

from __future__ import annotations

import pytest

from kfval.kube import client, errors
from kfval.kube.session import RunScope, ScenarioSession
from kfval.report.redaction import Redactor

pytestmark = pytest.mark.integration


def test_deferred_actions_run_newest_first_before_the_namespace_goes(conn: client.Connection) -> None:
    scope = RunScope(conn=conn, run_id="rsession", namespace_prefix="t", secrets=Redactor())
    session = ScenarioSession(scope, "deferring")
    session.open()
    order: list[str] = []

    def first(timeout: float) -> None:
        namespace = conn.get("v1", "Namespace", session.namespace)
        order.append(f"first ({namespace['status']['phase']})")

    def failing(timeout: float) -> None:
        order.append("second")
        raise errors.ReleaseError("helm uninstall failed: release: not found")

    session.defer("the first release", first)
    session.defer("the second release", failing)
    problems = session.close(timeout_seconds=60)
    assert order == ["second", "first (Active)"], "deferred actions run newest first, while the namespace lives"
    assert problems == ["cannot clean up the second release: helm uninstall failed: release: not found"]
    with pytest.raises(errors.NotFoundError):
        conn.get("v1", "Namespace", session.namespace)
