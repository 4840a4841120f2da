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


def test_phase_spans_follow_each_pod_from_creation_to_its_final_phase() -> None:
    done = {
        "metadata": {"name": "job-master-0", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {
            "phase": "Succeeded",
            "containerStatuses": [
                {"state": {"terminated": {"startedAt": "2026-01-01T00:00:05Z", "finishedAt": "2026-01-01T00:01:00Z"}}}
            ],
        },
    }
    running = {
        "metadata": {"name": "job-ps-0", "creationTimestamp": "2026-01-01T00:00:01Z"},
        "status": {
            "phase": "Running",
            "containerStatuses": [{"state": {"running": {"startedAt": "2026-01-01T00:00:02Z"}}}],
        },
    }
    waiting = {
        "metadata": {"name": "job-worker-0", "creationTimestamp": "2026-01-01T00:09:00Z"},
        "status": {"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}]},
    }

    spans = podtimes.phase_spans([done, running, waiting], now=NOW)

    def at(minute: int, second: int) -> datetime:
        return datetime(2026, 1, 1, 0, minute, second, tzinfo=UTC)

    assert spans == [
        podtimes.PhaseSpan("job-master-0", "Pending", at(0, 0), at(0, 5)),
        podtimes.PhaseSpan("job-master-0", "Running", at(0, 5), at(1, 0)),
        podtimes.PhaseSpan("job-master-0", "Succeeded", at(1, 0), NOW),
        podtimes.PhaseSpan("job-ps-0", "Pending", at(0, 1), at(0, 2)),
        podtimes.PhaseSpan("job-ps-0", "Running", at(0, 2), NOW),
        podtimes.PhaseSpan("job-worker-0", "Pending", at(9, 0), NOW),
    ]
