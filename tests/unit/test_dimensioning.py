"""The dimensioning table's flags and limit check, and the usage records it is built from."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from kfval.kube import errors, usage
from kfval.report import dimensioning, model

MI = 2**20


def _row(**figures: object) -> dimensioning.Row:
    defaults: dict[str, object] = {
        "pod": "mnist-master-0",
        "container": "pytorch",
        "requests": {"cpu": 0.5, "memory": 1024 * MI},
        "readings": 10,
        "peak_cpu": 0.4,
        "peak_memory": 400 * MI,
    }
    return dimensioning.Row(**{**defaults, **figures})  # type: ignore[arg-type]


def test_usage_within_the_request_and_above_a_tenth_of_it_is_not_flagged() -> None:
    assert _row().flags() == []


def test_usage_above_the_request_is_flagged_per_resource() -> None:
    assert _row(peak_cpu=1.2, peak_memory=1100 * MI).flags() == ["cpu over request", "memory over request"]


def test_usage_under_a_tenth_of_the_request_is_flagged() -> None:
    assert _row(peak_cpu=0.04, peak_memory=100 * MI).flags() == [
        "cpu under 10% of request",
        "memory under 10% of request",
    ]


def test_no_request_means_no_flag_and_no_reading_means_not_measured() -> None:
    assert _row(requests={}).flags() == []
    assert _row(readings=0).flags() == ["not measured"]


def test_an_oom_kill_and_too_many_readings_at_the_cpu_limit_are_problems() -> None:
    killed = _row(oom_killed=True, limits={"memory": 512 * MI}, peak_memory=500 * MI)
    throttled = _row(pod="mnist-worker-0", limits={"cpu": 0.5}, readings_at_cpu_limit=6)
    found = dimensioning.problems([killed, throttled, _row(readings_at_cpu_limit=5)], max_throttled_share=0.5)
    assert found == [
        "mnist-master-0/pytorch was OOMKilled (memory limit 512Mi, peak seen 500Mi)",
        "mnist-worker-0/pytorch ran at its CPU limit (500m) in 60% of 10 readings, more than the 50% allowed",
    ]
    assert "OOMKilled" in killed.flags()


def test_the_table_reads_back_from_its_embedding_and_renders_in_html_and_junit() -> None:
    rows = [_row(), _row(pod="mnist-worker-0", peak_cpu=0.9)]
    embedding = dimensioning.embedding(rows)
    step = model.Step(
        keyword="Then ", name="x", line=1, result=model.Result(model.Status.PASSED), embeddings=(embedding,)
    )
    scenario = model.Scenario(id="s", keyword="Scenario", name="s", line=1, steps=(step,))
    assert dimensioning.of_scenario(scenario) == rows
    page = dimensioning.html(rows)
    assert "<td>500m</td>" in page and "cpu over request" in page
    assert ("dimensioning mnist-worker-0/pytorch flags", "cpu over request") in dimensioning.properties(rows)
    assert "mnist-worker-0/pytorch" in dimensioning.text(rows).splitlines()[2]


T0 = datetime(2026, 12, 5, 9, 0, 0, tzinfo=UTC)


def test_a_container_record_sums_cpu_seconds_over_windows_and_keeps_the_peaks() -> None:
    record = usage.ContainerUsage("p", "c", {"cpu": Fraction(1, 2)}, {"cpu": Fraction(1)})
    record = record.read({"cpu": "250000000n", "memory": "1024Ki"}, 2.0, sampled_at=T0, read_at=10.0)
    record = record.read({"cpu": "980m", "memory": "512Ki"}, 2.0, sampled_at=T0 + timedelta(seconds=2), read_at=12.0)
    assert record.readings == 2 and record.readings_at_cpu_limit == 1
    assert abs(record.cpu_seconds - 2.46) < 1e-9
    assert record.peak_cpu == Fraction(98, 100) and record.peak_memory == 1024 * 1024


def test_a_window_reaching_back_over_an_earlier_one_counts_only_its_new_stretch() -> None:
    """The sampler's last reading at cleanup can come a tenth of a second after the one before, its window
    reaching back over that one's: summing whole windows counted most of the run twice."""
    record = usage.ContainerUsage("p", "c", {}, {})
    later = T0 + timedelta(seconds=1)  # whole seconds: 0.1 s later may read as a second later, or not at all
    record = record.read({"cpu": "500m"}, 2.0, sampled_at=T0, read_at=10.0)
    record = record.read({"cpu": "1"}, 2.1, sampled_at=later, read_at=10.1)
    record = record.read({"cpu": "1"}, 2.1, sampled_at=later, read_at=12.0)  # metrics-server's reading, again
    assert abs(record.cpu_seconds - (0.5 * 2.0 + 1 * 0.1)) < 1e-9
    assert record.readings == 2


def test_go_durations_read_as_seconds() -> None:
    assert usage.go_duration_seconds("10.213s") == 10.213
    assert usage.go_duration_seconds("1m5s") == 65.0
    assert usage.go_duration_seconds("500ms") == 0.5


class ClusterWithoutMetrics:
    """A connection to a cluster with pods but no metrics-server."""

    def __init__(self) -> None:
        self.metrics_asked = 0

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> dict[str, object]:
        if kind == "PodMetrics":
            self.metrics_asked += 1
            raise errors.MissingKindError("PodMetrics (metrics.k8s.io/v1beta1) is not served by this cluster")
        pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
        return {"items": [pod]}


def test_a_cluster_without_the_metrics_api_is_named_once_and_not_asked_again() -> None:
    conn = ClusterWithoutMetrics()
    sampler = usage.UsageSampler(conn, "ns")  # type: ignore[arg-type]
    sampler.sample()
    sampler.sample()
    assert conn.metrics_asked == 1
    assert sampler.problem is not None and "metrics-server" in sampler.problem
    assert [(r.pod, r.container, r.readings) for r in sampler.records()] == [("p", "c", 0)]


class HangingCluster:
    """A connection whose requests hang (an API outage being ridden out) until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> dict[str, object]:
        self.release.wait()
        return {"items": []}


def test_stopping_a_sampler_stuck_in_a_request_waits_a_bounded_time_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(usage, "STOP_WAIT_SECONDS", 0.1)
    conn = HangingCluster()
    sampler = usage.UsageSampler(conn, "ns")  # type: ignore[arg-type]
    sampler.start()
    sampler.stop()
    try:
        assert sampler.running
        assert sampler.problem == "the last usage sample did not finish within 0.1 s"
    finally:
        conn.release.set()
