"""Steps of features/pytorchjob.feature: submit PyTorchJobs, wait for them, read what their pods say."""

from __future__ import annotations

from radish import then, when

from kfval.bdd import scenario
from kfval.kubeflow import training
from kfval.metrics import pytorch


def _submit(step, manifest, name, **variables):
    session = scenario.session(step)
    image = scenario.settings(step).image("pytorch_mnist")
    session.apply(scenario.manifest(manifest), {"name": name, "image": image, **variables})


@when("I submit the MNIST PyTorchJob {name:QuotedString} with {workers:d} worker(s)")
def submit_mnist(step, name, workers):
    _submit(step, "pytorchjob.yaml", name, workers=str(workers), clean_pod_policy="None")


@when("I submit the quick PyTorchJob {name:QuotedString} with {workers:d} worker(s)")
def submit_quick(step, name, workers):
    _submit(step, "pytorchjob-quick.yaml", name, workers=str(workers), clean_pod_policy="None")


@when("I submit the quick PyTorchJob {name:QuotedString} with {workers:d} worker(s) and clean pod policy {policy:w}")
def submit_quick_with_policy(step, name, workers, policy):
    _submit(step, "pytorchjob-quick.yaml", name, workers=str(workers), clean_pod_policy=policy)


@when("I submit the PyTorchJob {name:QuotedString} whose worker exits with an error")
def submit_failing(step, name):
    _submit(step, "pytorchjob-failing-worker.yaml", name)


@when("I submit the PyTorchJob {name:QuotedString} without a container named pytorch")
def submit_invalid(step, name):
    scenario.attempt(step, lambda: _submit(step, "pytorchjob-without-pytorch-container.yaml", name))


@then("the master of PyTorchJob {name:QuotedString} reports an accuracy of at least the PyTorch MNIST threshold")
def accuracy_reached(step, name):
    log = training.master_log(scenario.session(step), name)
    scenario.attach_text(step, f"{name} master log", log)
    minimum = scenario.settings(step).threshold("pytorch_min_accuracy")
    result = pytorch.parse_training_log(log)
    assert result.accuracy is not None, f"the master log has no accuracy line; its end:\n{log[-2000:]}"
    scenario.check_metric(step, "accuracy", result.accuracy, minimum, at_least=True)
    for metric, value in (("test_loss", result.test_loss), ("final_training_loss", result.final_loss)):
        if value is not None:
            scenario.record_metric(step, metric, value)
    assert result.accuracy >= minimum, f"accuracy {result.accuracy:.4f} is below the threshold {minimum:.4f}"


@then("the operator gave the pods of PyTorchJob {name:QuotedString} this environment:")
def has_environment(step, name):
    scenario.expect_none(training.environment_mismatches(scenario.session(step), name, scenario.rows(step.table)))


@then("every pod of PyTorchJob {name:QuotedString} reached the master at the master pod's address")
def reached_master(step, name):
    scenario.expect_none(training.master_address_mismatches(scenario.session(step), name))
