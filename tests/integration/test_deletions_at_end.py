"""A scenario's namespace goes while the next scenario runs, and the run waits for it before it ends: a
deletion that does not finish in `timeouts.cleanup` still fails its scenario and the run's exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kfval.embedded import launch
from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking
from tests.support.suites import run_suite

pytestmark = pytest.mark.integration

FEATURE = "tests/fixtures/suite/held-deletion.feature"


def hooks(scenario: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {hook["match"]["location"]: hook["result"] for hook in scenario.get("after", [])}


@pytest.mark.parametrize("at_end", [True, False], ids=["awaited at the end", "awaited by each cleanup"])
def test_a_namespace_that_does_not_go_fails_its_scenario_and_the_run(
    cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path, at_end: bool
) -> None:
    run = run_suite(
        FEATURE,
        cluster.kubeconfig,
        tmp_path,
        "timeouts.cleanup=2",
        "run.strict_permissions=false",  # the permissions table knows the five features, not this fixture
        f"run.deletions_awaited_at_end={str(at_end).lower()}",
    )
    try:
        held, other = run.cucumber[0]["elements"]
        assert run.returncode != 0, run.output
        assert [step["result"]["status"] for step in held["steps"] + other["steps"]] == ["passed"] * 4
        assert hooks(other) == {"cleanup": hooks(other)["cleanup"]} and hooks(other)["cleanup"]["status"] == "passed"
        failed = "namespace deleted" if at_end else "cleanup"
        assert hooks(held)[failed]["status"] == "failed", hooks(held)
        assert (
            "SomeFinalizersRemain" in hooks(held)[failed]["error_message"]
            or "ran out" in hooks(held)[failed]["error_message"]
        ), hooks(held)[failed]
        if at_end:
            assert hooks(held)["cleanup"]["status"] == "passed", "the scenario's cleanup only asked for the deletion"
            assert hooks(held)["cleanup"]["duration"] < 2e9
        assert "kfval: cleanup problems:" in run.output and held["name"] in run.output.split("cleanup problems:")[1]
    finally:
        namespace = kubectl.run(
            "get",
            "configmap",
            "-A",
            "-l",
            f"kfval.dev/run-id={run.run_id}",
            "-o",
            "jsonpath={.items[?(@.metadata.name=='held')].metadata.namespace}",
        ).stdout.strip()
        if namespace:
            kubectl.run(
                "patch", "configmap", "held", "-n", namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}'
            )
            eventually_blocking(
                lambda: kubectl.run("get", "namespace", namespace, check=False).returncode != 0,
                f"namespace {namespace} to go once its finalizer is removed",
            )
