"""Steps of features/container_builder.feature about what a build made: the image in the registry, its
config, and pods that run it or read it from the workspace."""

from __future__ import annotations

import json

from radish import then, when

from kfval.bdd import scenario
from kfval.kubeflow import builds, images, notebooks


def _reference(step, image):
    return builds.reference(scenario.builder(step), scenario.session(step), image)


@then("the registry holds {image:QuotedString} under the digest the builder wrote")
def registry_digest(step, image):
    held = images.pushed_digest(scenario.builder(step), _reference(step, image))
    wrote = step.context.builds[-1].termination_message
    scenario.attach_text(step, "digests", f"the builder wrote {wrote}\nthe registry holds {held}")
    assert held == wrote, f"the registry holds {held} for {image}, the builder wrote {wrote!r}"


@then("the registry does not hold {image:QuotedString}")
def registry_lacks(step, image):
    held = images.pushed_digest(scenario.builder(step), _reference(step, image))
    assert held is None, f"the registry holds {_reference(step, image)} ({held})"


@then(
    "the image {image:QuotedString} runs {command:QuotedString} in {workdir:QuotedString} as a non-root user, "
    "with FAIRING_RUNTIME {value:QuotedString}"
)
def image_config(step, image, command, workdir, value):
    config = images.pushed_config(scenario.builder(step), _reference(step, image))
    scenario.attach_text(step, "image config", json.dumps(config, indent=2))
    env = {"FAIRING_RUNTIME": value}
    scenario.expect_none(images.config_mismatches(config, cmd=command, workdir=workdir, env=env))


@when("a pod runs the image {image:QuotedString}")
def run_image(step, image):
    session, account = scenario.session(step), scenario.builder(step).service_account
    variables = {"name": "app", "image": _reference(step, image), "service_account": account}
    session.apply(scenario.manifest("built-image-pod.yaml"), variables)
    step.context.app_log = notebooks.pod_output(session, "app", timeout=scenario.timeouts(step).pod_start)


@then("the app prints what its RUN step wrote, as the same non-root user, on the TensorFlow base")
def app_output(step):
    scenario.attach_text(step, "app output", step.context.app_log)
    scenario.expect_none(images.app_mismatches(images.app_report(step.context.app_log)))


@then(
    "another pod on the workspace {workspace:QuotedString} finds {image:QuotedString} in the image tarball "
    "{file:QuotedString}"
)
def tarball_names(step, workspace, image, file):
    session, variables = scenario.session(step), {"name": "reader", "workspace": workspace, "file": file}
    session.apply(scenario.manifest("image-tarball-reader.yaml"), variables)
    listed = notebooks.pod_output(session, "reader", timeout=scenario.timeouts(step).pod_start)
    scenario.attach_text(step, "manifest.json of the tarball", listed)
    scenario.expect_none(images.tarball_mismatches(listed, _reference(step, image)))
