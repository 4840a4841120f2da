"""Steps of features/helm_upgrade.feature: install, upgrade, roll back and uninstall the installation's
release, and judge its pods by what the chart was given."""

from __future__ import annotations

from pathlib import Path

from radish import given, then, when

from kfval.bdd import rerun, scenario
from kfval.kube import errors
from kfval.kubeflow import releases


def _upgrade(step, release, *settings, values=True, timeout=None):
    helm = scenario.settings(step).helm
    labels = scenario.session(step).labels
    change = releases.Change(
        helm.next_chart, values_files=helm.upgrade_values if values else (), settings=settings, labels=labels
    )
    step.context.before_upgrade = {p["metadata"]["uid"] for p in _pods(step, release)}
    scenario.releases(step).upgrade(release, change, timeout=timeout or scenario.timeouts(step).helm)


def _pods(step, release, *, ready=False):
    session, label = scenario.session(step), scenario.settings(step).helm.instance_label
    if ready:
        return releases.wait_pods_ready(session, release, label=label, timeout=scenario.timeouts(step).pod_start)
    return releases.release_pods(session, release, label=label)


def _resources(step):
    return releases.resource_values(scenario.settings(step).helm.resources_key, scenario.rows(step.table))


@given("the installer chart at its first version is installed as release {release:QuotedString}")
def installed(step, release):
    session, helm, chosen = scenario.session(step), scenario.settings(step).helm, scenario.releases(step)
    session.defer(
        f'Helm release "{release}"', lambda timeout: chosen.uninstall(release, timeout=timeout, missing_ok=True)
    )
    chosen.install(
        release, releases.Change(helm.first_chart, labels=session.labels), timeout=scenario.timeouts(step).helm
    )


@when("I upgrade release {release:QuotedString} to the installer chart's next version with these component resources:")
def upgrade_with_resources(step, release):
    _upgrade(step, release, *_resources(step)[0])


@when(
    "I upgrade release {release:QuotedString} to the installer chart's next version with an image that cannot be pulled"
)
def upgrade_unpullable(step, release):
    image = f"{scenario.settings(step).helm.image_key}={releases.UNPULLABLE_IMAGE}"
    timeout = scenario.timeouts(step).failing_upgrade
    scenario.attempt(step, lambda: _upgrade(step, release, image, timeout=timeout), refused=(errors.ReleaseError,))


@when(
    "I upgrade release {release:QuotedString} to the installer chart's next version with a component memory limit "
    "of {value:QuotedString}"
)
def upgrade_bad_value(step, release, value):
    setting = f"{scenario.settings(step).helm.resources_key}.limits.memory={value}"
    scenario.attempt(step, lambda: _upgrade(step, release, setting, values=False), refused=(errors.ReleaseError,))


@then("release {release:QuotedString} is at revision 2, deployed, and revision 1 is superseded")
def revision_two(step, release):
    history = scenario.releases(step).history(release, timeout=scenario.timeouts(step).helm)
    scenario.attach_text(step, "helm history", "\n".join(map(str, history)))
    assert [(r.number, r.status) for r in history] == [(1, "superseded"), (2, "deployed")], f"the history is {history}"


@then("every pod of release {release:QuotedString} is new since the upgrade, Ready, and has these component resources:")
def pods_carry_resources(step, release):
    pods = _pods(step, release, ready=True)
    old = [p["metadata"]["name"] for p in pods if p["metadata"]["uid"] in step.context.before_upgrade]
    assert not old, f"these pods are from before the upgrade: {old}"
    seen = [f"{p['metadata']['name']} {c['name']}: {c.get('resources')}" for p in pods for c in p["spec"]["containers"]]
    scenario.attach_text(step, "resources of the new pods", "\n".join(seen))
    scenario.expect_none(releases.resource_mismatches(pods, _resources(step)[1]))


@then("the upgrade fails, naming a pod of release {release:QuotedString} that cannot pull its image")
def upgrade_failed(step, release):
    failure = scenario.expect_refusal(step)
    label = scenario.settings(step).helm.instance_label
    reasons = releases.pods_not_running(scenario.session(step), release, label=label)
    scenario.attach_text(step, "why the upgrade failed", f"{failure}\n" + "\n".join(reasons))
    assert any("ImagePull" in line or "ErrImage" in line for line in reasons), f"no pod says why: {reasons}"


@when("I roll release {release:QuotedString} back to revision {revision:d}")
def roll_back(step, release, revision):
    scenario.releases(step).rollback(release, revision, timeout=scenario.timeouts(step).helm)


@then("every pod of release {release:QuotedString} is Ready and runs the installer chart's first version")
def first_version_back(step, release):
    pods = _pods(step, release, ready=True)
    status = scenario.releases(step).status(release, timeout=scenario.timeouts(step).helm)
    first = releases.chart_version(scenario.settings(step).helm.first_chart)
    assert status.status == "deployed" and first in (None, status.chart_version), f"the release is {status}"
    images = {c["image"] for p in pods for c in p["spec"]["containers"]}
    assert releases.UNPULLABLE_IMAGE not in images, f"pods still run {images}"


@then("Helm refuses the values, saying {message:QuotedString}")
def helm_refuses(step, message):
    refusal = scenario.expect_refusal(step)
    assert message in str(refusal), f"Helm said: {refusal}"


@then("release {release:QuotedString} is still at revision {revision:d}")
def still_at(step, release, revision):
    status = scenario.releases(step).status(release, timeout=scenario.timeouts(step).helm)
    assert (status.number, status.status) == (revision, "deployed"), f"the release is {status}"


@then("the scenarios tagged post-upgrade pass against the upgraded installation")
def post_upgrade(step):
    reports = Path(scenario.settings(step).reports.cucumber).parent / "post-upgrade"
    timeout = scenario.timeouts(step).training
    sink = scenario.session(step).run.progress
    outcome = rerun.run_tagged(
        "post-upgrade", overrides=scenario.overrides(), reports=reports, timeout=timeout, sink=sink
    )
    summary = "\n".join(f"{status}: {name}" for name, status in outcome.scenarios)
    scenario.attach_text(step, "post-upgrade scenarios", f"{summary}\n{outcome.output_tail}")
    assert outcome.scenarios, f"no scenario ran with the tag post-upgrade: {outcome.output_tail}"
    assert outcome.returncode == 0 and not outcome.failed, f"after the upgrade these failed: {outcome.failed}"


@when("I uninstall release {release:QuotedString}")
def uninstall(step, release):
    scenario.releases(step).uninstall(release, timeout=scenario.timeouts(step).helm)


@then("no object of release {release:QuotedString} is left in any namespace")
def nothing_left(step, release):
    left = releases.objects_left(scenario.session(step), release, label=scenario.settings(step).helm.instance_label)
    assert not left, f"release {release} left {left}"
