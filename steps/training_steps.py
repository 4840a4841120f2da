"""Steps every Kubeflow training job kind shares (PyTorchJob, TFJob): its pods, its outcome, its failure."""

from __future__ import annotations

from radish import then

from kfval.bdd import scenario
from kfval.kube import checks
from kfval.kubeflow import training


@then("the pods of {kind:w} {name:QuotedString} start running")
def pods_start(step, kind, name):
    training.wait_pods_started(scenario.session(step), kind, name, timeout=scenario.timeouts(step).pod_start)


@then("the pods of {kind:w} {name:QuotedString} are completed")
def pods_completed(step, kind, name):
    training.wait_pods_completed(scenario.session(step), kind, name, timeout=scenario.timeouts(step).training)


@then("the {kind:w} {name:QuotedString} succeeds with reason {reason:QuotedString}")
def job_succeeds(step, kind, name, reason):
    timeouts = scenario.timeouts(step)
    job = training.expect_succeeded(
        scenario.session(step), kind, name, pod_start_timeout=timeouts.pod_start, timeout=timeouts.training
    )
    actual = checks.true_condition(job, training.SUCCEEDED)
    assert actual and actual.get("reason") == reason, (
        f'{kind} "{name}" succeeded with reason {actual and actual.get("reason")!r}, expected "{reason}"'
    )


@then("the {kind:w} {name:QuotedString} fails with reason {reason:QuotedString}")
def job_fails(step, kind, name, reason):
    job = training.wait_finished(scenario.session(step), kind, name, timeout=scenario.timeouts(step).training)
    failed = checks.true_condition(job, training.FAILED)
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
    scenario.expect_none(training.label_mismatches(scenario.session(step), name, scenario.rows(step.table)))


@then("no pods of {kind:w} {name:QuotedString} remain")
def no_pods_remain(step, kind, name):
    training.wait_pods_gone(scenario.session(step), name, timeout=scenario.timeouts(step).cleanup)
