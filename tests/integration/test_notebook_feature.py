"""The notebook feature through radish against the test cluster, where its outcome depends on the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfval.embedded import launch
from tests.support.kubectl import Kubectl
from tests.support.suites import run_suite

pytestmark = pytest.mark.integration


def test_the_r_scenario_is_skipped_naming_an_image_without_an_r_kernel(
    cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path
) -> None:
    run = run_suite(
        "features/notebook_poddefault.feature",
        cluster.kubeconfig,
        tmp_path,
        "images.notebook_r=kfval/notebook:latest",
        tags="r-kernel",
    )
    assert run.returncode == 0, run.output
    statuses = {
        step["name"]: (step["result"]["status"], step["result"].get("error_message"))
        for feature in run.cucumber
        for element in feature["elements"]
        for step in element["steps"]
    }
    kernel_step = next(name for name in statuses if name.startswith("a cell run by the R kernel"))
    assert statuses[kernel_step] == ("skipped", "the notebook image kfval/notebook:latest has no R kernel (ir)")
    assert all(status == "passed" for name, (status, _) in statuses.items() if name != kernel_step), statuses
    skipped = run.junit.findall(".//testcase/skipped")
    assert len(skipped) == 1, run.output
    left = kubectl.run("get", "namespaces", "-l", f"kfval.dev/run-id={run.run_id}", "-o", "name").stdout
    assert left.strip() == ""
