"""The time a scenario's pods ran is the union of their container runs."""

from __future__ import annotations

from datetime import UTC, datetime

from kfval.kube import podtimes

NOW = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)


def pod(*states: dict[str, object]) -> dict[str, object]:
    return {"status": {"containerStatuses": [{"state": state} for state in states]}}


def test_overlapping_pods_count_once_and_gaps_do_not_count() -> None:
    pods = [
        pod({"terminated": {"startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:01:00Z"}}),
        pod({"terminated": {"startedAt": "2026-01-01T00:00:30Z", "finishedAt": "2026-01-01T00:01:30Z"}}),
        pod({"terminated": {"startedAt": "2026-01-01T00:05:00Z", "finishedAt": "2026-01-01T00:05:10Z"}}),
    ]
    assert podtimes.busy_seconds(podtimes.intervals(pods, now=NOW)) == 100.0


def test_a_running_container_counts_until_now_and_a_waiting_one_not_at_all() -> None:
    pods = [pod({"running": {"startedAt": "2026-01-01T00:09:00Z"}}), pod({"waiting": {"reason": "ErrImagePull"}})]
    assert podtimes.busy_seconds(podtimes.intervals(pods, now=NOW)) == 60.0
