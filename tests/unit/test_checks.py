"""The judgements waits make, on pod and job bodies shaped as a kubelet and the training operator write them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kfval.kube import checks

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def pod(
    name: str,
    phase: str = "Pending",
    *,
    ready: bool = False,
    waiting: tuple[str, str] | None = None,
    terminated: tuple[int, str] | None = None,
    restarts: int = 0,
    restart_policy: str = "Always",
    owner_kind: str | None = None,
    conditions: list[dict[str, Any]] | None = None,
    started: str = "2025-01-01T11:58:00Z",
) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if waiting:
        state["waiting"] = {"reason": waiting[0], "message": waiting[1]}
    if terminated:
        state["terminated"] = {"exitCode": terminated[0], "reason": terminated[1]}
    body: dict[str, Any] = {
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": restart_policy, "containers": [{"name": "main"}]},
        "status": {
            "phase": phase,
            "startTime": started,
            "conditions": [*(conditions or []), {"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {
                    "name": "main",
                    "image": "registry.example/app:1",
                    "state": state,
                    "restartCount": restarts,
                    "ready": ready,
                }
            ],
        },
    }
    if owner_kind:
        body["metadata"]["ownerReferences"] = [{"kind": owner_kind, "name": "owner", "controller": True}]
    return body


def by_name(*bodies: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {body["metadata"]["name"]: body for body in bodies}


def job(name: str, *conditions: tuple[str, str, str, str]) -> dict[str, Any]:
    return {
        "kind": "PyTorchJob",
        "metadata": {"name": name},
        "status": {
            "conditions": [{"type": t, "status": s, "reason": r, "message": m} for t, s, r, m in conditions],
        },
    }


def test_too_few_pods_is_an_unmet_count() -> None:
    verdict = checks.pods_completed(3)(by_name(pod("a", "Succeeded")))
    assert not verdict.done
    assert verdict.unmet == ("pods: want at least 3, have 1",)


def test_pods_in_phase_accepts_any_of_the_phases() -> None:
    check = checks.pods_in_phase(("Running", "Succeeded"), 2)
    assert check(by_name(pod("a", "Running"), pod("b", "Succeeded"))).done
    verdict = check(by_name(pod("a", "Running"), pod("b", "Pending")))
    assert verdict.unmet == ("pod b: status.phase: want Running or Succeeded, have Pending",)


def test_a_failing_pull_fails_a_wait_once_it_outlasts_the_grace_naming_container_and_image() -> None:
    stuck = pod("mnist-worker-0", waiting=("ImagePullBackOff", 'Back-off pulling image "x"'))
    verdict = checks.pods_in_phase(("Running",), 1, image_pull_grace_seconds=0)(by_name(stuck))
    assert verdict.failure is not None
    assert verdict.failure.startswith(
        'pod mnist-worker-0 cannot start: container main cannot pull image "registry.example/app:1" (for '
    )
    assert verdict.failure.endswith('s): ImagePullBackOff: Back-off pulling image "x"')
    assert checks.pod_failure(stuck, now=NOW) == (
        'pod mnist-worker-0 cannot start: container main cannot pull image "registry.example/app:1" (for 120 s): '
        'ImagePullBackOff: Back-off pulling image "x"'
    )


def test_a_pull_that_fails_within_the_grace_is_waited_out() -> None:
    young = pod("a", waiting=("ErrImagePull", "registry hiccup"), started="2025-01-01T11:59:30Z")
    assert checks.pod_failure(young, now=NOW) is None
    assert checks.pod_failure(young, now=NOW, image_pull_grace_seconds=20) is not None
    assert checks.pods_in_phase(("Running",), 1)(by_name(young)).failure is not None, "the default grace is 60 s"


def test_a_pending_pod_does_not_fail_a_wait_for_pending() -> None:
    stuck = pod("a", waiting=("ImagePullBackOff", "Back-off"))
    assert checks.pods_in_phase(("Pending",), 1)(by_name(stuck)).done


def test_a_wrong_spec_fails_at_once_however_young_the_pod() -> None:
    for reason in ("InvalidImageName", "CreateContainerConfigError", "CreateContainerError"):
        young = pod("a", waiting=(reason, "why"), started="2025-01-01T11:59:59Z")
        assert checks.pod_failure(young, now=NOW) == f"pod a cannot start: container main: {reason}: why"
    assert checks.pod_failure(pod("a", waiting=("ContainerCreating", "")), now=NOW) is None


def test_crash_loop_fails_only_after_repeated_restarts_of_an_unowned_pod() -> None:
    young = pod("a", "Running", waiting=("CrashLoopBackOff", "back-off 10s"), restarts=1)
    assert checks.pod_failure(young) is None
    old = pod("a", "Running", waiting=("CrashLoopBackOff", "back-off 40s"), restarts=3)
    old["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 2, "reason": "Error"}}
    assert checks.pod_failure(old) == (
        "pod a keeps crashing: container main is in CrashLoopBackOff after 3 restarts; "
        "last run: container main exited with code 2 (Error)"
    )


def test_a_job_decides_about_its_crashing_or_failed_pods_through_its_backoff_limit() -> None:
    crashing = pod("w", "Running", waiting=("CrashLoopBackOff", ""), restarts=9, owner_kind="PyTorchJob")
    failed = pod("w", "Failed", terminated=(1, "Error"), restart_policy="Never", owner_kind="Job")
    assert checks.pod_failure(crashing) is None
    assert checks.pod_failure(failed) is None
    pulling = pod("w", waiting=("ErrImagePull", "no such image"), owner_kind="TFJob")
    assert checks.pod_failure(pulling, now=NOW) == (
        'pod w cannot start: container main cannot pull image "registry.example/app:1" (for 120 s): '
        "ErrImagePull: no such image"
    )


def test_a_failed_pod_fails_a_wait_for_completion_but_not_a_wait_for_failed() -> None:
    failed = pod("a", "Failed", terminated=(1, "Error"), restart_policy="Never")
    assert (
        checks.pods_completed(1)(by_name(failed)).failure == "pod a failed: container main exited with code 1 (Error)"
    )
    assert checks.pods_in_phase(("Failed",), 1)(by_name(failed)).done


def test_restart_policy_never_fails_as_soon_as_a_container_exits_non_zero() -> None:
    exited = pod("a", "Running", terminated=(3, "Error"), restart_policy="Never")
    assert (
        checks.pod_failure(exited)
        == "pod a failed: container main exited with code 3 (Error) under restartPolicy Never"
    )
    assert checks.pod_failure(pod("a", "Running", terminated=(3, "Error"), restart_policy="OnFailure")) is None


def test_unschedulable_fails_only_after_the_grace() -> None:
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient cpu.",
        "lastTransitionTime": "2025-01-01T11:59:30Z",
    }
    unschedulable = pod("a", conditions=[condition])
    assert checks.pod_failure(unschedulable, now=NOW, unschedulable_grace_seconds=60) is None
    assert checks.pod_failure(unschedulable, now=NOW, unschedulable_grace_seconds=20) == (
        "pod a cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu. (Unschedulable for 30 s)"
    )


def test_job_finished_on_succeeded_and_failure_with_reason_and_message() -> None:
    check = checks.job_finished()
    running = job("mnist", ("Created", "True", "PyTorchJobCreated", ""), ("Running", "True", "PyTorchJobRunning", ""))
    verdict = check(by_name(running))
    assert not verdict.done
    assert verdict.unmet == (
        "PyTorchJob mnist: status.conditions[type=Succeeded].status: want True, have Running=True",
    )
    succeeded = job(
        "mnist", ("Running", "False", "PyTorchJobRunning", ""), ("Succeeded", "True", "PyTorchJobSucceeded", "")
    )
    assert check(by_name(succeeded)).done
    failed = job(
        "mnist",
        ("Failed", "True", "PyTorchJobFailed", "PyTorchJob mnist is failed because 1 Master replica(s) failed."),
    )
    assert check(by_name(failed)).failure == (
        "PyTorchJob mnist failed: PyTorchJobFailed: PyTorchJob mnist is failed because 1 Master replica(s) failed."
    )


def test_job_finished_either_way_when_the_caller_judges_the_failure() -> None:
    check = checks.job_finished(failure_fails_wait=False)
    failed = job("mnist", ("Failed", "True", "PyTorchJobFailed", "1 Worker replica(s) failed."))
    verdict = check(by_name(failed))
    assert verdict.done
    assert verdict.failure is None
    created = job("mnist")
    assert check(by_name(created)).unmet == (
        "PyTorchJob mnist: status.conditions[type=Succeeded|Failed].status: want True, have <absent>",
    )


def test_true_condition_only_returns_a_condition_whose_status_is_true() -> None:
    finished = job("mnist", ("Running", "False", "PyTorchJobRunning", ""), ("Succeeded", "True", "Done", ""))
    assert checks.true_condition(finished, "Succeeded") == checks.condition(finished, "Succeeded")
    assert checks.true_condition(finished, "Running") is None
    assert checks.true_condition(finished, "Failed") is None


def test_job_finished_waits_for_the_job_to_exist_and_takes_other_condition_names() -> None:
    assert checks.job_finished()({}).unmet == ("jobs: want at least 1, have 0",)
    complete = job("batch", ("Complete", "True", "", ""))
    assert checks.job_finished(success_condition="Complete")(by_name(complete)).done


def test_gone_lists_what_is_still_there() -> None:
    terminating = pod("a", "Running")
    terminating["metadata"]["deletionTimestamp"] = "2025-01-01T12:00:00Z"
    verdict = checks.gone()(by_name(terminating))
    assert not verdict.done
    assert verdict.unmet == ("pod a: metadata: want absent, have present (deleting since 2025-01-01T12:00:00Z)",)
    assert checks.gone()({}).done
