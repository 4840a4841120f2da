"""The pod history's container run times: from when each change was seen, not the API's whole seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kfval.kube.podhistory import PodHistory

T0 = datetime(2026, 12, 5, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def pod(uid: str, *, state: dict[str, Any], restarts: int = 0, last: dict[str, Any] | None = None) -> dict[str, Any]:
    status = {"name": "main", "restartCount": restarts, "state": state, "lastState": last or {}}
    return {"metadata": {"name": f"pod-{uid}", "uid": uid}, "status": {"containerStatuses": [status]}}


def running(started: float) -> dict[str, Any]:
    return {"running": {"startedAt": f"{at(started):%Y-%m-%dT%H:%M:%SZ}"}}


def terminated(started: float, finished: float) -> dict[str, Any]:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {"terminated": {"startedAt": f"{at(started):{stamp}}", "finishedAt": f"{at(finished):{stamp}}"}}


def history() -> PodHistory:
    return PodHistory(conn=None, namespace="demo")  # type: ignore[arg-type]  # the thread is never started


def test_a_run_lasts_from_the_change_that_showed_it_running_to_the_one_that_showed_it_ended() -> None:
    pods = history()
    pods.observe([pod("a", state=running(10.3))], at(10.35))
    pods.observe([pod("a", state=terminated(10.3, 12.4))], at(12.45))
    assert pods.ran_seconds(at(20)) == pytest.approx(2.1)  # the API's seconds would say 2 (10 to 12)


def test_a_run_seen_only_ended_takes_the_status_times() -> None:
    pods = history()
    pods.observe([pod("a", state=terminated(10, 11))], at(11.5))
    assert pods.ran_seconds(at(20)) == pytest.approx(1.0)


def test_a_deleted_pod_ran_until_its_deletion_was_seen_and_stays_in_the_history() -> None:
    pods = history()
    pods.observe([pod("a", state=running(10))], at(10.2))
    pods.observe([], at(13.7))
    pods.observe([pod("b", state=running(14))], at(14.1))
    assert pods.ran_seconds(at(15.1)) == pytest.approx(3.5 + 1.0)
    assert [seen["metadata"]["uid"] for seen, _ in pods.gone({"b"})] == ["a"]


def test_a_restart_ends_the_last_run_and_starts_the_next() -> None:
    pods = history()
    pods.observe([pod("a", state=running(10))], at(10.0))
    pods.observe([pod("a", state=running(12), restarts=1, last=terminated(10, 11))], at(12.0))
    assert pods.ran_seconds(at(13.0)) == pytest.approx(2.0)  # 10 to 11 (its last state's end), 12 to 13
