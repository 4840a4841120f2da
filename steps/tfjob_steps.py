"""Steps of features/tfjob.feature: submit TFJobs, and read what their parameter servers, workers and chiefs say."""

from __future__ import annotations

from radish import then, when

from kfval.bdd import scenario
from kfval.kubeflow import training
from kfval.metrics import tensorflow


def _parsed_logs(step, name, replica_type):
    logs = training.replica_logs(scenario.session(step), name, replica_type)
    return scenario.attach_logs(step, logs, tensorflow.parse_training_log)


def _submit(step, manifest, name, **variables):
    image = scenario.settings(step).image("tf_mnist")
    scenario.session(step).apply(scenario.manifest(manifest), {"name": name, "image": image, **variables})


@when("I submit the MNIST TFJob {name:QuotedString} with {ps:d} parameter server(s) and {workers:d} worker(s)")
def submit_tf_mnist(step, name, ps, workers):
    _submit(step, "tfjob.yaml", name, ps=str(ps), workers=str(workers))


@when("I submit the quick TFJob {name:QuotedString} with {ps:d} parameter server(s) and {workers:d} worker(s)")
def submit_tf_quick(step, name, ps, workers):
    _submit(step, "tfjob-quick.yaml", name, ps=str(ps), workers=str(workers), clean_pod_policy="None")


@when(
    "I submit the quick TFJob {name:QuotedString} with {ps:d} parameter server(s) and {workers:d} worker(s) "
    "and clean pod policy {policy:w}"
)
def submit_tf_quick_with_policy(step, name, ps, workers, policy):
    _submit(step, "tfjob-quick.yaml", name, ps=str(ps), workers=str(workers), clean_pod_policy=policy)


@when("I submit the TFJob {name:QuotedString} whose first worker exits with an error")
def submit_tf_failing(step, name):
    _submit(step, "tfjob-failing-worker.yaml", name)


@when(
    "I submit the ParameterServerStrategy TFJob {name:QuotedString} with a chief, {ps:d} parameter server(s) "
    "and {workers:d} worker(s)"
)
def submit_strategy(step, name, ps, workers):
    _submit(step, "tfjob-strategy.yaml", name, ps=str(ps), workers=str(workers))


@then("the workers of TFJob {name:QuotedString} reach the global step the job asked for")
def global_step_reached(step, name):
    logs = _parsed_logs(step, name, "worker")
    wanted = int(scenario.session(step).variables({})["train_steps"])
    reached = max((log.global_step or 0) for log in logs.values())
    assert reached >= wanted, f"the workers reached global step {reached}, the job asked for {wanted}"


@then(
    "the first worker of TFJob {name:QuotedString} reports a validation cross entropy below the TensorFlow MNIST "
    "threshold"
)
def cross_entropy_below(step, name):
    log = _parsed_logs(step, name, "worker")[f"{name}-worker-0"]
    maximum = scenario.settings(step).threshold("tf_max_cross_entropy")
    assert log.cross_entropy is not None, "the first worker printed no validation cross entropy"
    scenario.check_metric(step, "validation_cross_entropy", log.cross_entropy, maximum, at_least=False)
    assert log.cross_entropy < maximum, f"validation cross entropy {log.cross_entropy:g} is not below {maximum:g}"


@then("the training time of TFJob {name:QuotedString} is recorded")
def training_time_recorded(step, name):
    log = _parsed_logs(step, name, "worker")[f"{name}-worker-0"]
    assert log.elapsed_seconds is not None, "the first worker printed no training elapsed time"
    scenario.record_metric(step, "training_elapsed_seconds", log.elapsed_seconds)
    if log.steps_per_second is not None:
        scenario.record_metric(step, "steps_per_second", log.steps_per_second)
    if log.global_steps_per_second is not None:
        scenario.record_metric(step, "global_steps_per_second", log.global_steps_per_second)


@then("the TF_CONFIG of each pod of TFJob {name:QuotedString} names its own task and this cluster:")
def tf_config_named(step, name):
    scenario.expect_none(training.tf_config_mismatches(scenario.session(step), name, scenario.rows(step.table)))


@then("the parameter server pods of TFJob {name:QuotedString} are still running")
def ps_still_running(step, name):
    scenario.expect_none(training.replicas_not_running(scenario.session(step), name, "ps"))


@then("no parameter server pods of TFJob {name:QuotedString} remain")
def no_ps_remain(step, name):
    training.wait_pods_gone(scenario.session(step), name, timeout=scenario.timeouts(step).cleanup, replica_type="ps")


@then("the chief of TFJob {name:QuotedString} reports an accuracy of at least the TensorFlow MNIST threshold")
def chief_accuracy(step, name):
    log = _parsed_logs(step, name, "chief")[f"{name}-chief-0"]
    minimum = scenario.settings(step).threshold("tf_min_accuracy")
    assert log.accuracy is not None, "the chief printed no accuracy"
    scenario.check_metric(step, "accuracy", log.accuracy, minimum, at_least=True)
    assert log.accuracy >= minimum, f"accuracy {log.accuracy:.4f} is below the threshold {minimum:.4f}"
