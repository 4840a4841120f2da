"""Steps of features/notebook_poddefault.feature about PodDefaults: what they inject into a notebook's
pod and kernel, and when the webhook refuses the pod."""

from __future__ import annotations

import secrets

from radish import given, then

from kfval.bdd import scenario
from kfval.kubeflow import jupyter, notebooks

KERNELS = {"python3": "python3", "R": "ir"}
"""The kernel a sentence names -> the Jupyter kernel spec that runs it."""


def _token(step, secret):
    return step.context.tokens[secret]


@given("the scenario's namespace is not a Kubeflow profile's")
def not_a_profile(step):
    notebooks.leave_profile(scenario.session(step))


@given("the secret {name:QuotedString} holds a token")
def secret_with_token(step, name):
    if not hasattr(step.context, "tokens"):
        step.context.tokens = {}
    step.context.tokens[name] = secrets.token_hex(16)
    scenario.session(step).apply(
        scenario.manifest("test-secret.yaml"), {"name": name, "token": step.context.tokens[name]}
    )


@given(
    "the PodDefault {name:QuotedString} adds POD_DEFAULT {value:QuotedString} and the token of secret "
    "{secret:QuotedString} to pods labelled testing"
)
def poddefault_with_secret(step, name, value, secret):
    variables = {"name": name, "value": value, "secret": secret}
    scenario.session(step).apply(scenario.manifest("poddefault-testing.yaml"), variables)


@given("the PodDefault {name:QuotedString} sets {variable:w} to {value:QuotedString} in pods labelled testing")
def poddefault_with_env(step, name, variable, value):
    variables = {"name": name, "variable": variable, "value": value}
    scenario.session(step).apply(scenario.manifest("poddefault-env.yaml"), variables)


@then("the pod of notebook {name:QuotedString} carries the mark of PodDefault {poddefault:QuotedString}")
def carries_mark(step, name, poddefault):
    annotations = notebooks.pod(scenario.session(step), name)["metadata"].get("annotations") or {}
    mark = notebooks.PODDEFAULT_ANNOTATION_PREFIX + poddefault
    assert mark in annotations, f"the pod has no annotation {mark}; it has {sorted(annotations)}"


@then(
    "a cell run by the {kernel:w} kernel of notebook {name:QuotedString} sees POD_DEFAULT {value:QuotedString} "
    "and the token of secret {secret:QuotedString}"
)
def kernel_sees(step, kernel, name, value, secret):
    session = scenario.session(step)
    found = jupyter.kernel_environment(session, name, KERNELS[kernel], ("POD_DEFAULT", "TEST_SECRET_TOKEN"))
    scenario.attach_text(step, f"{kernel} kernel environment", repr(found))
    if found is None:
        image = notebooks.image_of(notebooks.pod(session, name))
        scenario.skip(step, f"the notebook image {image} has no {kernel} kernel ({KERNELS[kernel]})")
        return
    assert found["POD_DEFAULT"] == value, (
        f"the {kernel} kernel sees POD_DEFAULT={found['POD_DEFAULT']!r}, expected {value!r}"
    )
    assert found["TEST_SECRET_TOKEN"] == _token(step, secret), (
        f"the {kernel} kernel's TEST_SECRET_TOKEN is not the token of secret {secret}"
    )


@then("the notebook {name:QuotedString} is refused a pod, saying {message:QuotedString}")
def notebook_refused(step, name, message):
    refusal = notebooks.expect_refused(scenario.session(step), name, timeout=scenario.timeouts(step).pod_start)
    scenario.attach_text(step, "refusal", refusal)
    assert message in refusal, f'the notebook was refused, but the webhook said "{refusal}"'


@then("the pod of notebook {name:QuotedString} has no variable {variable:w}")
def no_variable(step, name, variable):
    env = notebooks.environment(notebooks.pod(scenario.session(step), name))
    assert variable not in env, f"the pod of notebook {name} has {variable}={env[variable]!r}"


@then("the pod of notebook {name:QuotedString} has the variable {variable:w} set to {value:QuotedString}")
def has_variable(step, name, variable, value):
    env = notebooks.environment(notebooks.pod(scenario.session(step), name))
    assert env.get(variable) == value, (
        f"the pod of notebook {name} has {variable}={env.get(variable)!r}, expected {value!r}"
    )
