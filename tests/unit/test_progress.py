"""What a wait tells the console while it waits: pods by phase, a job's latest condition, the training
position from the end of a pod's log, and when a sink is asked at all."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kfval.kube import errors, progress, waiting
from kfval.metrics import position
from tests.support.sinks import RecordingSink

LOGS = Path(__file__).parent / "fixtures" / "logs"


def pod(name: str, phase: str, *, waiting_reason: str | None = None, deleting: bool = False) -> dict[str, Any]:
    statuses = [{"name": "c", "state": {"waiting": {"reason": waiting_reason}}}] if waiting_reason else []
    metadata: dict[str, Any] = {"name": name}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": metadata, "status": {"phase": phase, "containerStatuses": statuses}}


def test_pods_are_counted_by_phase_or_by_their_waiting_reason() -> None:
    pods = [pod("a", "Running"), pod("b", "Pending", waiting_reason="ContainerCreating"), pod("c", "Running")]
    assert progress.pod_phases(pods) == "1/3 pods ContainerCreating, 2/3 Running"
    assert progress.pod_phases([pod("a", "Running"), pod("b", "Running")]) == "2/2 pods Running"
    assert progress.pod_phases([pod("a", "Running", deleting=True)]) == "1/1 pod Terminating"
    assert progress.pod_phases([]) == "no pods yet"


def test_the_latest_condition_is_the_last_to_change() -> None:
    job = {
        "status": {
            "conditions": [
                {"type": "Created", "status": "True", "lastTransitionTime": "2026-01-01T00:00:01Z"},
                {"type": "Running", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"},
                {"type": "Restarting", "status": "False", "lastTransitionTime": "2026-01-01T00:00:03Z"},
            ]
        }
    }
    assert progress.latest_condition(job) == "Running"
    job["status"]["conditions"][2]["lastTransitionTime"] = "2026-01-01T00:00:09Z"
    assert progress.latest_condition(job) == "Restarting=False"
    assert progress.latest_condition({"status": {}}) is None


def test_a_status_line_joins_its_facts_and_ends_with_the_seconds() -> None:
    status = progress.Status("mnist", ("2/2 pods Running", "epoch 1", "63%", "loss 0.21"), 14.4)
    assert status.line() == "mnist: 2/2 pods Running · epoch 1 · 63% · loss 0.21 · 14 s"


def test_a_wait_reports_its_own_fact_then_the_callers_to_a_sink_that_wants_one() -> None:
    sink = RecordingSink()
    target = waiting.Target("kubeflow.org/v1", "PyTorchJob", "ns", None, "mnist")
    job = {"status": {"conditions": [{"type": "Running", "status": "True"}]}}

    def facts(seen: Mapping[str, Any]) -> list[str]:
        return ["2/2 pods Running", "epoch 1"]

    waiting.Reporting(sink, None, facts).report(target, {"mnist": job}, elapsed_seconds=3.2)
    assert [s.line() for s in sink.shown] == ["mnist: Running · 2/2 pods Running · epoch 1 · 3 s"]


def test_a_sink_that_wants_nothing_costs_the_caller_nothing() -> None:
    asked: list[object] = []
    target = waiting.Target("v1", "Pod", "ns", "app=x", None)
    reporting = waiting.Reporting(RecordingSink(wanted=False), "x", lambda seen: asked.append(seen) or [])
    reporting.report(target, {}, elapsed_seconds=1.0)
    assert asked == []
    assert progress.SILENT.due(100.0) is False
    assert progress.SILENT.interval_seconds is None


def test_pod_waits_count_phases_and_other_waits_count_what_is_left() -> None:
    pods = waiting.Target("v1", "Pod", "ns", "app=x", None)
    assert waiting.describe_progress(pods, {"a": pod("a", "Succeeded")}) == "1/1 pod Succeeded"
    namespaces = waiting.Target("v1", "Namespace", None, "run=x", None)
    assert waiting.describe_progress(namespaces, {"a": {}, "b": {}}) == "2 Namespace left"
    assert waiting.describe_progress(namespaces, {}) == "no Namespace left"


def test_training_position_from_the_end_of_each_kind_of_log() -> None:
    def facts(name: str) -> tuple[str, ...] | None:
        found = position.latest((LOGS / name).read_text())
        return found.facts() if found else None

    assert facts("pytorch_mnist_master.log") == ("epoch 1", "98%", "loss 0.0728")
    assert facts("katib_pytorch_mnist_master.log") == ("epoch 1", "98%", "loss 0.0728")
    assert facts("tf_dist_mnist_worker_0.log") == ("global step 1001",)
    assert facts("tf_pss_mnist_chief.log") == ("epoch 3/3", "loss 0.2777")
    assert facts("tf_dist_mnist_ps_0.log") is None
    assert facts("pytorch_mnist_no_data.log") is None


def test_a_keras_epoch_that_has_started_shows_before_its_summary() -> None:
    text = "Epoch 1/3\n120/120 - 10s - loss: 0.6994 - accuracy: 0.8043\nEpoch 2/3\n"
    assert position.latest(text) == position.Position(epoch=2, epochs=3)


def test_a_child_process_is_run_as_subprocess_run_would_while_the_sink_hears_of_it() -> None:
    sink = RecordingSink(interval_seconds=0.2)
    child = [sys.executable, "-c", "import sys, time; time.sleep(1.2); print(sys.stdin.read().upper())"]
    done = progress.run_process(
        child, stdin="helm", timeout=30, sink=sink, status=lambda elapsed: progress.Status("helm", (), elapsed)
    )
    assert (done.returncode, done.stdout) == (0, "HELM\n")
    assert len(sink.shown) >= 3
    assert sink.shown[-1].elapsed_seconds >= sink.shown[0].elapsed_seconds
    assert sink.finished_count == 1


def test_a_child_that_outlives_its_timeout_is_killed_with_what_it_said() -> None:
    sink = RecordingSink(wanted=False)
    child = [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"]
    with pytest.raises(subprocess.TimeoutExpired) as expired:
        progress.run_process(child, stdin="", timeout=1.5, sink=sink, status=lambda e: progress.Status("x", (), e))
    assert expired.value.output == "started\n"
    assert sink.shown == [] and sink.finished_count == 1


def test_a_read_that_fails_for_the_progress_line_never_fails_the_wait() -> None:
    def unreadable(seen: Mapping[str, Any]) -> list[str]:
        raise errors.ServerError("the server is busy", status=503)

    sink = RecordingSink()
    target = waiting.Target("v1", "Pod", "ns", "app=x", None)
    waiting.Reporting(sink, "x", unreadable).report(target, {"a": pod("a", "Running")}, elapsed_seconds=2.0)
    assert [s.line() for s in sink.shown] == ["x: 1/1 pod Running · 2 s"]
    with pytest.raises(ValueError, match="a bug"):
        progress.gathered(lambda: (_ for _ in ()).throw(ValueError("a bug")))
