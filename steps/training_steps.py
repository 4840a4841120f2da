"""Steps every Kubeflow training job kind shares (PyTorchJob, TFJob): its pods, its outcome, its failure."""

from __future__ import annotations

from radish import then

from kfval import scenario, training


@then("the pods of {kind:w} {name:QuotedString} start running")
def pods_start(step, kind, name):
    scenario.pods_start(step, name, kind=kind)


@then("the pods of {kind:w} {name:QuotedString} are completed")
def pods_completed(step, kind, name):
    scenario.pods_completed(step, name, kind=kind)


@then("the {kind:w} {name:QuotedString} succeeds with reason {reason:QuotedString}")
def job_succeeds(step, kind, name, reason):
    job = scenario.job_succeeded(step, kind, name)
    actual = training.condition(job, "Succeeded")
    assert actual and actual.get("reason") == reason, (
        f'{kind} "{name}" succeeded with reason {actual and actual.get("reason")!r}, expected "{reason}"'
    )


@then("the {kind:w} {name:QuotedString} fails with reason {reason:QuotedString}")
def job_fails(step, kind, name, reason):
    job = scenario.job_finished(step, kind, name)
    failed = training.condition(job, "Failed")
    assert failed is not None, f'{kind} "{name}" did not fail: its conditions are {job["status"]["conditions"]}'
    assert failed.get("reason") == reason, f'{kind} "{name}" failed with reason {failed.get("reason")!r}'


@then("the failure of {kind:w} {name:QuotedString} is explained by pod {pod:QuotedString} with its last log line:")
def failure_explained(step, kind, name, pod):
    explanation = training.explain_failure(scenario.session(step), name)
    scenario.attach_text(step, "failure explanation", explanation)
    assert f"pod {pod}:" in explanation, f"the explanation does not name pod {pod}:\n{explanation}"
    assert step.text.strip() in explanation, f"the explanation lacks the log line {step.text.strip()!r}"


@then("the {kind:w} {name:QuotedString} has these pods:")
def has_pods(step, kind, name):
    scenario.expect_pod_labels(step, name, step.table)


@then("no pods of {kind:w} {name:QuotedString} remain")
def no_pods_remain(step, kind, name):
    scenario.pods_gone(step, name)
