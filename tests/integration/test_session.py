"""A scenario's session against the test cluster: its namespace, and a cleanup that runs what it deferred
(a Helm uninstall) before it deletes what it created, newest first, reporting problems instead of raising."""

from __future__ import annotations

import time

import pytest

from kfval.kube import client, errors
from kfval.kube.session import RunScope, ScenarioSession
from kfval.report.redaction import Redactor
from tests.support.polling import eventually_blocking

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


HOLD = "kfval.dev/test-hold"
"""A finalizer nobody removes but the test: the namespace cannot go while an object in it carries it."""


def held_open(conn: client.Connection, namespace: str) -> None:
    conn.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": [HOLD]}}, namespace
    )


def release_hold(conn: client.Connection, namespace: str) -> None:
    conn.patch("v1", "ConfigMap", "held", namespace, {"metadata": {"finalizers": None}})


def gone(conn: client.Connection, namespace: str) -> bool:
    try:
        conn.get("v1", "Namespace", namespace)
    except errors.NotFoundError:
        return True
    return False


def deferring_scope(conn: client.Connection) -> RunScope:
    return RunScope(conn=conn, run_id="rdefer", namespace_prefix="t", secrets=Redactor(), deletions_awaited_at_end=True)


def test_a_deletion_awaited_at_the_end_goes_on_while_the_run_does(conn: client.Connection) -> None:
    scope = deferring_scope(conn)
    session = ScenarioSession(scope, "held")
    session.open()
    held_open(conn, session.namespace)
    assert session.close(timeout_seconds=60) == [], "the cleanup only asks for the deletion"
    assert conn.get("v1", "Namespace", session.namespace)["status"]["phase"] == "Terminating"
    release_hold(conn, session.namespace)
    [awaited] = scope.await_deletions()
    assert (awaited.namespace, awaited.problems) == (session.namespace, [])
    assert gone(conn, session.namespace)
    assert scope.pending_deletions == []


def test_a_deletion_that_outlasts_its_cleanup_timeout_is_a_problem_at_the_end(conn: client.Connection) -> None:
    scope = deferring_scope(conn)
    session = ScenarioSession(scope, "held for good")
    session.open()
    held_open(conn, session.namespace)
    try:
        assert session.close(timeout_seconds=1) == []
        [awaited] = scope.await_deletions()
        assert len(awaited.problems) == 1
        assert f'Namespace "{session.namespace}" to be deleted' in awaited.problems[0], awaited.problems
    finally:
        release_hold(conn, session.namespace)
        eventually_blocking(lambda: gone(conn, session.namespace), "the held namespace to go")


def test_a_deletion_awaited_after_its_deadline_counts_if_it_finished_in_time(conn: client.Connection) -> None:
    """The run may end long after a scenario's timeouts.cleanup: what went meanwhile is no problem."""
    scope = deferring_scope(conn)
    session = ScenarioSession(scope, "quick")
    session.open()
    assert session.close(timeout_seconds=0.5) == []
    eventually_blocking(lambda: gone(conn, session.namespace), "the namespace to go")
    time.sleep(0.5)  # past the deadline
    [awaited] = scope.await_deletions()
    assert awaited.problems == []
