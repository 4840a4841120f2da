"""The container builder feature through radish against the test cluster as a real cluster is run: the
registry, its credentials and the base image come from [builder] settings, not from the embedded
cluster's record. Nothing of the run may stay: no namespace, no image, no credential in any output."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kfval.embedded import launch
from tests.support import registry as reg
from tests.support.kubectl import Kubectl
from tests.support.suites import run_suite

pytestmark = pytest.mark.integration


def _builder_settings(registry: launch.RegistryInfo) -> list[str]:
    return [
        f"builder.registry={registry.name}",
        f"builder.registry_address={registry.address}",
        f"builder.username={registry.username}",
        f"builder.password={registry.password}",
        "builder.insecure=true",
        f"builder.base_image={registry.name}/{launch.TENSORFLOW_BASE}",
    ]


def test_the_feature_passes_from_builder_settings_and_leaves_nothing_behind(
    cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path
) -> None:
    registry = cluster.registry
    assert registry is not None, "the test cluster runs without its registry (see its cluster.log)"
    run = run_suite("features/container_builder.feature", cluster.kubeconfig, tmp_path, *_builder_settings(registry))
    assert run.returncode == 0, run.error_messages() or run.output
    scenarios = [element for feature in run.cucumber for element in feature["elements"]]
    assert len([s for s in scenarios if s.get("type") == "scenario"]) == 6
    written = "\n".join(
        [run.output, json.dumps(run.cucumber), (tmp_path / "junit.xml").read_text()]
        + [base64.b64decode(e["data"]).decode(errors="replace") for s in scenarios for step in s["steps"]
           for e in step.get("embeddings", [])]
    )  # fmt: skip
    auth = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    for secret in (registry.password, auth):
        assert secret not in written, "registry credentials reached the console or a report"
    left = kubectl.run("get", "namespaces", "-l", f"kfval.dev/run-id={run.run_id}", "-o", "name").stdout
    assert left.strip() == ""
    status, _headers, body = reg.get(registry, "/v2/_catalog", auth=(registry.username, registry.password))
    assert status == 200
    of_run = [name for name in json.loads(body)["repositories"] if f"-{run.run_id}-" in name]
    assert len(of_run) >= 4, f"the run's pushes are not in the registry's catalog: {body!r}"
    tagged = {name: reg.get(registry, f"/v2/{name}/tags/list", auth=(registry.username, registry.password))[2]
              for name in of_run}  # fmt: skip
    assert all(json.loads(tags).get("tags") in (None, []) for tags in tagged.values()), tagged


def test_without_a_registry_the_scenario_fails_naming_the_builder_settings(
    cluster: launch.ClusterInfo, tmp_path: Path
) -> None:
    run = run_suite("features/container_builder.feature", cluster.kubeconfig, tmp_path, tags="smoke")
    assert run.returncode != 0
    assert "image registry: no registry to push built images to" in run.error_messages(), run.output
    assert "set [builder] registry (and its credentials) in radish.ini" in run.error_messages()
    unchecked = run_suite(
        "features/container_builder.feature", cluster.kubeconfig, tmp_path, "run.preflight=false", tags="smoke"
    )
    assert unchecked.returncode != 0
    assert "builder.registry and builder.base_image not set" in unchecked.error_messages(), unchecked.output
    assert '[builder] of radish.ini (README, "Container builds")' in unchecked.error_messages()
