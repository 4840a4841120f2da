"""Steps of features/container_builder.feature about building: the registry credentials, a build context
saved by the notebook, Fairing's Kaniko builder Job and how its pod ended."""

from __future__ import annotations

import secrets

from radish import given, then, when

from kfval.bdd import scenario
from kfval.kubeflow import builds, jupyter


def _build(step, context, image, **options):
    session, builder, manifest = (
        scenario.session(step),
        scenario.builder(step),
        scenario.manifest("fairing-builder.yaml"),
    )
    timeout = scenario.timeouts(step).build
    done = builds.build(session, manifest, builder, context=context, image=image, timeout=timeout, **options)
    scenario.attach_text(step, f"builder pod {done.pod} log ({done.seconds:.1f} s)", done.log)
    step.context.builds = [*getattr(step.context, "builds", []), done]


@given("the builder's service account may pull from and push to the registry")
def builder_credentials(step):
    builds.grant_registry(
        scenario.session(step), scenario.manifest("registry-credentials.yaml"), scenario.builder(step)
    )


@given("the builder's registry credentials hold a wrong password")
def wrong_credentials(step):
    step.context.wrong_password = secrets.token_hex(12)
    manifest, builder = scenario.manifest("registry-credentials.yaml"), scenario.builder(step)
    builds.grant_registry(scenario.session(step), manifest, builder, password=step.context.wrong_password)


@given("the notebook {name:QuotedString} saved the build context {context:QuotedString} to its workspace")
def save_context(step, name, context):
    files = builds.context_files(scenario.manifest(f"manifests/build-contexts/{context}"))
    jupyter.write_files(scenario.session(step), name, files)


@when("the Fairing builder builds {context:QuotedString} from the workspace and pushes it as {image:QuotedString}")
def build_and_push(step, context, image):
    _build(step, context, image)


@when(
    "the Fairing builder builds {context:QuotedString} from the workspace into the tarball {file:QuotedString}, "
    "naming it {image:QuotedString}"
)
def build_tarball(step, context, file, image):
    _build(step, context, image, tarball=file)


@when(
    "the Fairing builder builds {context:QuotedString} twice with the layer cache {cache:QuotedString}, "
    "pushing it as {image:QuotedString}"
)
def build_twice_with_cache(step, context, cache, image):
    for _ in range(2):
        _build(step, context, image, cache=cache)


@given("the Fairing builder has built {context:QuotedString} from the workspace and pushed it as {image:QuotedString}")
def built_and_pushed(step, context, image):
    _build(step, context, image)
    builds.expect_succeeded(step.context.builds[-1])


@then("the builder pod completes")
def builder_completes(step):
    builds.expect_succeeded(step.context.builds[-1])


@then("the builder pod fails with the exit code of a RUN step that exits with {code:d}")
def builder_fails_with_run_code(step, code):
    expected = builds.run_failure_exit_code(scenario.builder(step).executor_image, code)
    builds.expect_failed(step.context.builds[-1], exit_code=expected)


@then("the builder pod fails with exit code {code:d} before building")
def builder_fails_before_building(step, code):
    builds.expect_failed(step.context.builds[-1], exit_code=code, before_building=True)


@then("the builder's last log line is Kaniko's {text:QuotedString}")
def last_log_line(step, text):
    line = step.context.builds[-1].error_line
    assert line and text in line, f"the builder's last log line is {line!r}, not Kaniko's \"{text}\""


@then("the second build says {text:QuotedString} for the RUN step")
def cache_used(step, text):
    assert step.context.builds[1].says(f"{text}: RUN"), f'the second build never says "{text}" for a RUN step'


@then("both build times are in the report")
def build_times(step):
    first, second = step.context.builds
    scenario.record_metric(step, "first_build_seconds", first.seconds)
    scenario.record_metric(step, "cached_build_seconds", second.seconds)


@then("neither password appears in the builder's log, and both are masked in the reports")
def credentials_hidden(step):
    builder, log = scenario.builder(step), step.context.builds[-1].log
    passwords = [builder.password, step.context.wrong_password]
    scenario.expect_none(builds.credential_leaks(builder, log, passwords, scenario.redacted))
