"""`kfval lint` finds, without a cluster, the sentences that resolve to no step, to part of one or to
two, and the manifests a step names that are missing or do not parse; each with its file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

KFVAL = Path(sys.executable).parent / "kfval"
ROOT = Path(__file__).resolve().parents[2]

STEPS = """
from radish import given, then, when


@given("a fresh namespace")
def fresh(step):
    pass


@when("I apply the manifest {path:QuotedString}")
def apply(step, path):
    pass


@when("I submit the job {name:QuotedString}")
def submit(step, name):
    return "job.yaml"


@then("the job {name:QuotedString} succeeds")
def succeeds(step, name):
    pass


@then("the job {name} succeeds")
def succeeds_by_any_name(step, name):
    return "broken.yaml"
"""

FEATURE = """Feature: Lint sample
  Scenario: Everything a QA engineer can get wrong
    Given a fresh namespace
    When I apply the manifest "missing.yaml"
    And I submit the job "mnist" at once
    Then the job "mnist" succeeds
    And the pods are gone
"""

JOB = """apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: ${name}
spec:
  replicas: ${workers}
"""


def _project(root: Path) -> Path:
    (root / "steps").mkdir()
    (root / "steps/sample_steps.py").write_text(STEPS)
    (root / "features").mkdir()
    (root / "features/sample.feature").write_text(FEATURE)
    (root / "manifests").mkdir()
    (root / "manifests/job.yaml").write_text(JOB)
    (root / "manifests/broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n")
    return root


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KFVAL, "lint"], cwd=root, capture_output=True, text=True, check=False, timeout=60)


def test_each_problem_is_named_with_its_place(tmp_path: Path) -> None:
    result = _lint(_project(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert (
        'features/sample.feature:5: "And I submit the job "mnist" at once" matches no step whole, only part of submit'
        in "\n".join(lines)
    )
    assert any(
        line.startswith('features/sample.feature:6: "Then the job "mnist" succeeds" matches 2 steps: succeeds (')
        for line in lines
    ), lines
    assert any(line.startswith('features/sample.feature:7: "And the pods are gone" matches no step:') for line in lines)
    assert (
        "features/sample.feature:4: manifest manifests/missing.yaml does not exist: name a file of manifests/, "
        "or a path from the project folder (one with a / in it)"
    ) in lines
    assert any(
        line.startswith("steps/sample_steps.py:") and "manifest broken.yaml does not parse" in line for line in lines
    )
    assert not any("job.yaml" in line for line in lines), "a manifest with ${variables} parses"
    assert lines[-1] == "5 step sentences, 3 manifests: 5 problem(s)"


def test_the_projects_own_features_are_clean() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("manifests: no problems")
