"""Steps every feature shares: the kinds a cluster must serve, the scenario's namespace, refusals."""

from __future__ import annotations

from radish import given, then, when

from kfval.bdd import scenario
from kfval.report import dimensioning


@given("the cluster serves {kind:w} of {api_version:S}")
def cluster_serves(step, kind, api_version):
    scenario.session(step).conn.kind(api_version, kind)


@given("a fresh namespace for the scenario")
def fresh_namespace(step):
    scenario.session(step).open()


@then("the cluster refuses it, saying {message:QuotedString}")
def cluster_refuses(step, message):
    refusal = scenario.expect_refusal(step)
    assert message in str(refusal), f'the cluster refused it, but said "{refusal}" instead of "{message}"'


@when("I apply the manifest {path:QuotedString}")
def apply_manifest(step, path):
    scenario.session(step).apply(scenario.manifest(path), {})


@then("the components stay within their resource limits")
def components_within_limits(step):
    rows = scenario.dimensioning_rows(scenario.session(step))
    assert rows, "no pod of the scenario was measured: the metrics API saw none of them running"
    share = scenario.settings(step).threshold("max_cpu_throttled_share")
    scenario.expect_none(dimensioning.problems(rows, max_throttled_share=share))
