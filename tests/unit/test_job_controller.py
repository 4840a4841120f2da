"""Jobs against a real store: completions, parallelism, backoff, deadlines, suspension, TTL.

Back-offs, deadlines and TTLs run on the harness's fake clock: they pass when the test advances it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from kfval.embedded.controllers import jobstatus
from kfval.embedded.controllers.job import JobController
from kfval.embedded.controllers.ttl import TTLAfterFinishedController
from kfval.embedded.types import Body
from tests.support.cluster import NAMESPACE, Harness, pod_template, running
from tests.support.loop import on_loop
from tests.support.polling import eventually

fast_jobs = partial(JobController, backoff_base_seconds=0.0)


def job(name: str = "train", restart_policy: str = "Never", **spec: Any) -> Body:
    return {
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"backoffLimit": 6, "template": pod_template({"app": name}, restart_policy=restart_policy), **spec},
    }


def status(c: Harness, name: str = "train") -> dict[str, Any]:
    return dict(c.store.get(c.jobs, NAMESPACE, name).get("status") or {})


def condition_types(c: Harness, name: str = "train") -> list[tuple[str, str]]:
    return [(x["type"], x.get("reason", "")) for x in status(c, name).get("conditions") or []]


def running_pods(c: Harness) -> list[Body]:
    return [p for p in c.live_pods() if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def finish(c: Harness, phase: str, count: int = 1) -> None:
    for pod in running_pods(c)[:count]:
        c.set_pod_status(pod, phase)


@on_loop
async def test_job_runs_one_pod_to_completion() -> None:
    async with running(fast_jobs) as c:
        c.store.create(c.jobs, job())
        (pod,) = await eventually(lambda: running_pods(c), "the job's pod")
        assert pod["metadata"]["name"].startswith("train-")
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
        assert pod["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "train"
        await eventually(
            lambda: status(c).get("active") == 1 and status(c).get("startTime"), "status.active and startTime"
        )
        assert status(c)["ready"] == 0 and status(c)["terminating"] == 0
        c.set_pod_status(pod, "Running", ready=True)
        await eventually(lambda: status(c).get("ready") == 1, "status.ready")
        c.set_pod_status(pod, "Succeeded")
        await eventually(lambda: ("Complete", "CompletionsReached") in condition_types(c), "Complete")
        final = status(c)
        assert condition_types(c) == [
            ("SuccessCriteriaMet", "CompletionsReached"),
            ("Complete", "CompletionsReached"),
        ]
        assert final["conditions"][1]["message"] == "Reached expected number of succeeded pods"
        assert final["succeeded"] == 1 and "active" not in final and "failed" not in final
        assert final["completionTime"] and final["uncountedTerminatedPods"] == {}
        assert ("Completed", "Job completed") in c.reasons()
        assert ("SuccessfulCreate", f"Created pod: {pod['metadata']['name']}") in c.reasons()


@on_loop
async def test_parallelism_and_completions() -> None:
    async with running(fast_jobs) as c:
        c.store.create(c.jobs, job(parallelism=2, completions=3))
        await eventually(lambda: len(running_pods(c)) == 2, "two running pods")
        await c.settle()
        assert len(running_pods(c)) == 2
        finish(c, "Succeeded", 2)
        await eventually(
            lambda: len(running_pods(c)) == 1 and status(c).get("succeeded") == 2, "one running pod and two succeeded"
        )
        finish(c, "Succeeded")
        await eventually(lambda: ("Complete", "CompletionsReached") in condition_types(c), "Complete")
        assert status(c)["succeeded"] == 3
        assert len(c.live_pods()) == 3


@on_loop
async def test_backoff_limit_fails_the_job() -> None:
    async with running(fast_jobs) as c:
        c.store.create(c.jobs, job(backoffLimit=1))
        for _ in range(2):
            await eventually(lambda: len(running_pods(c)) == 1, "one running pod")
            finish(c, "Failed")
        await eventually(
            lambda: ("Failed", "BackoffLimitExceeded") in condition_types(c), "Failed: BackoffLimitExceeded"
        )
        assert condition_types(c) == [
            ("FailureTarget", "BackoffLimitExceeded"),
            ("Failed", "BackoffLimitExceeded"),
        ]
        final = status(c)
        assert final["failed"] == 2 and "active" not in final and "completionTime" not in final
        assert final["conditions"][1]["message"] == "Job has reached the specified backoff limit"
        assert ("BackoffLimitExceeded", "Job has reached the specified backoff limit") in c.reasons()
        await c.settle()
        assert not running_pods(c)


@on_loop
async def test_restarts_of_an_on_failure_pod_count_toward_the_backoff_limit() -> None:
    async with running(fast_jobs) as c:
        c.store.create(c.jobs, job(backoffLimit=2, restart_policy="OnFailure"))
        (pod,) = await eventually(lambda: running_pods(c), "the job's pod")
        c.set_pod_status(pod, "Running", restarts=2)
        await eventually(
            lambda: ("Failed", "BackoffLimitExceeded") in condition_types(c), "Failed: BackoffLimitExceeded"
        )
        assert not c.live_pods()


@on_loop
async def test_failed_pods_are_replaced_after_a_backoff() -> None:
    async with running(partial(JobController, backoff_base_seconds=0.3)) as c:
        c.store.create(c.jobs, job())
        await eventually(lambda: len(running_pods(c)) == 1, "one running pod")
        finish(c, "Failed")
        await eventually(lambda: status(c).get("failed") == 1, "status.failed")
        await c.advance(0.15)
        assert not running_pods(c), "no replacement before the 0.3 s back-off"
        await c.advance(0.15)
        await eventually(lambda: len(running_pods(c)) == 1, "a replacement pod")


@on_loop
async def test_active_deadline_fails_the_job_and_deletes_its_pods() -> None:
    async with running(fast_jobs) as c:
        c.store.create(c.jobs, job(activeDeadlineSeconds=1))
        await eventually(lambda: len(running_pods(c)) == 1, "one running pod")
        await c.advance(0.5)
        assert not condition_types(c), "the deadline is not over"
        await c.advance(0.5)
        await eventually(lambda: ("Failed", "DeadlineExceeded") in condition_types(c), "Failed: DeadlineExceeded")
        failed = next(x for x in status(c)["conditions"] if x["type"] == "Failed")
        assert failed["message"] == "Job was active longer than specified deadline"
        assert {"lastProbeTime", "lastTransitionTime"} <= set(failed)
        assert not c.live_pods()
        assert status(c)["failed"] == 1


@on_loop
async def test_indexed_job_gives_each_pod_its_completion_index() -> None:
    async with running(fast_jobs) as c:
        c.store.create(c.jobs, job(completions=3, parallelism=3, completionMode="Indexed"))
        pods = await eventually(lambda: len(running_pods(c)) == 3 and running_pods(c), "three running pods")
        indexes = sorted(p["metadata"]["annotations"][jobstatus.COMPLETION_INDEX] for p in pods)
        assert indexes == ["0", "1", "2"]
        pod = next(p for p in pods if p["metadata"]["annotations"][jobstatus.COMPLETION_INDEX] == "1")
        assert pod["metadata"]["name"].startswith("train-1-")
        assert pod["spec"]["hostname"] == "train-1"
        assert pod["spec"]["containers"][0]["env"][-1]["name"] == "JOB_COMPLETION_INDEX"
        finish(c, "Succeeded", 3)
        await eventually(lambda: ("Complete", "CompletionsReached") in condition_types(c), "Complete")
        assert status(c)["completedIndexes"] == "0-2"


@on_loop
async def test_suspend_deletes_pods_and_resume_recreates_them() -> None:
    async with running(fast_jobs) as c:
        c.store.create(c.jobs, job(suspend=True))
        await eventually(lambda: ("Suspended", "JobSuspended") in condition_types(c), "Suspended: JobSuspended")
        assert not c.live_pods() and "startTime" not in status(c)
        current = c.store.get(c.jobs, NAMESPACE, "train")
        current["spec"]["suspend"] = False
        c.store.replace(c.jobs, current)
        await eventually(lambda: len(running_pods(c)) == 1, "one running pod")
        await eventually(
            lambda: ("Suspended", "JobResumed") in condition_types(c) and status(c).get("startTime"),
            "Suspended: JobResumed and startTime",
        )


@on_loop
async def test_ttl_after_finished_deletes_the_job() -> None:
    async with running(fast_jobs, TTLAfterFinishedController) as c:
        c.store.create(c.jobs, job(ttlSecondsAfterFinished=1))
        await eventually(lambda: len(running_pods(c)) == 1, "one running pod")
        finish(c, "Succeeded")
        await eventually(lambda: ("Complete", "CompletionsReached") in condition_types(c), "Complete")
        assert c.store.exists(c.jobs, NAMESPACE, "train")
        await c.advance(1.0)
        await eventually(lambda: not c.store.exists(c.jobs, NAMESPACE, "train"), "the job deleted after its TTL")


def test_index_text_round_trips_like_upstream() -> None:
    assert jobstatus.format_indexes({1, 3, 4, 5, 7}) == "1,3-5,7"
    assert jobstatus.format_indexes({0, 1}) == "0,1"
    assert jobstatus.parse_indexes("1,3-5,7") == {1, 3, 4, 5, 7}
    assert jobstatus.parse_indexes("") == set()


def test_backoff_doubles_and_is_capped() -> None:
    assert jobstatus.backoff_seconds(10.0, 0) == 0.0
    assert jobstatus.backoff_seconds(10.0, 1) == 10.0
    assert jobstatus.backoff_seconds(10.0, 3) == 40.0
    assert jobstatus.backoff_seconds(10.0, 20) == 360.0
