"""The pipeline recipes of deploy/ci/, each checked by the tool that owns its format where one installs
here: the Kubeflow Pipelines pipeline compiled by kfp's own compiler, the GitLab CI job and the GitHub
Actions workflow validated against the schemas check-jsonschema vendors from SchemaStore. Tekton's tools
(tkn, its Go packages) do not install from the registries these machines reach, so the Task is held to
the parts of the Tekton v1 Task API it uses: its fields, and every `$(params|workspaces|results...)`
reference declared. Every recipe passes kfval only settings that kfval accepts.

The tools live in the interpreter CI_RECIPES_PYTHON names (.venv-ci, `make setup`): kfp pins a
kubernetes client older than the project's. Without it, the tests that need it skip and say why.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfval import settings

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "deploy" / "ci"
PYTHON_VARIABLE = "CI_RECIPES_PYTHON"
RECIPES = {"gitlab-ci.yml": "vendor.gitlab-ci", "github-actions.yml": "vendor.github-workflows"}


@pytest.fixture(scope="module")
def tools() -> Path:
    """The bin folder of the interpreter that has kfp and check-jsonschema."""
    python = os.environ.get(PYTHON_VARIABLE) or str(ROOT / ".venv-ci" / "bin" / "python")
    if not Path(python).exists():
        pytest.skip(f"the recipes' tools need an interpreter of their own: `make setup`, or set {PYTHON_VARIABLE}")
    return Path(python).parent


def _run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, check=False)


def test_the_kubeflow_pipeline_compiles_and_keeps_the_reports_as_artifacts(tools: Path, tmp_path: Path) -> None:
    compiled = tmp_path / "kfval-pipeline.yaml"
    done = _run(tools / "python", CI / "kfp" / "pipeline.py", "--output", compiled)
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load(compiled.read_text())
    assert spec["pipelineInfo"]["name"] == "kfval"
    run = spec["components"]["comp-kfval-run"]
    assert set(run["outputDefinitions"]["artifacts"]) == {"cucumber", "junit"}
    container = spec["deploymentSpec"]["executors"]["exec-kfval-run"]["container"]
    assert container["image"].endswith("/kfval/runner:0.1.0")
    assert "kfval run" in " ".join(container["command"])
    assert "reports.cucumber=" in " ".join(container["args"]) and "reports.junit=" in " ".join(container["args"])
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["verdict"]["dependentTasks"] == ["kfval-run"]


@pytest.mark.parametrize(("recipe", "schema"), sorted(RECIPES.items()))
def test_the_ci_recipe_validates_against_its_schema(tools: Path, tmp_path: Path, recipe: str, schema: str) -> None:
    done = _run(tools / "check-jsonschema", "--builtin-schema", schema, CI / recipe)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / recipe
    document = yaml.safe_load((CI / recipe).read_text())
    job = next(value for key, value in document.items() if isinstance(value, dict) and key in ("kfval", "jobs"))
    job["no-such-key"] = True
    broken.write_text(yaml.safe_dump(document))
    refused = _run(tools / "check-jsonschema", "--builtin-schema", schema, broken)
    assert refused.returncode != 0, "the schema check accepts anything: it proves nothing"


def _references(text: str) -> set[tuple[str, str]]:
    return set(re.findall(r"\$\((params|workspaces|results)\.([\w-]+)", text))


def test_the_tekton_task_declares_everything_it_references() -> None:
    text = (CI / "tekton-task.yaml").read_text()
    task: dict[str, Any] = yaml.safe_load(text)
    assert (task["apiVersion"], task["kind"]) == ("tekton.dev/v1", "Task")
    spec = task["spec"]
    assert set(spec) <= {"description", "params", "workspaces", "results", "steps", "volumes", "stepTemplate"}
    declared = {
        "params": {p["name"] for p in spec["params"]},
        "workspaces": {w["name"] for w in spec["workspaces"]},
        "results": {r["name"] for r in spec["results"]},
    }
    for kind, name in _references(text):
        assert name in declared[kind], f"$({kind}.{name}...) is not declared"
    for param in spec["params"]:
        assert param["type"] == "string" and isinstance(param.get("default", ""), str), param
    [step] = spec["steps"]
    assert step["script"].startswith("#!/bin/sh") and "command" not in step


def _kfval_environment(recipe: str) -> dict[str, str]:
    """The KFVAL_* variables a recipe sets, however its format spells them."""
    text = (CI / recipe).read_text()
    pairs = re.findall(r"\b(KFVAL_[A-Z_]+)[:=] *([^\n]*)", text)
    pairs += re.findall(r"name: (KFVAL_[A-Z_]+)\n\s+value: ([^\n]+)", text)
    return {name: value.split(" KFVAL_")[0].strip().strip('"') or "x" for name, value in pairs}


@pytest.mark.parametrize("recipe", ["gitlab-ci.yml", "github-actions.yml", "tekton-task.yaml"])
def test_every_kfval_variable_a_recipe_sets_is_a_setting(recipe: str, tmp_path: Path) -> None:
    environ = _kfval_environment(recipe)
    assert "KFVAL_REPORTS_JUNIT" in environ, environ
    if "KFVAL_TARGET_KUBECONFIG" in environ:  # a path the pipeline fills in at run time: settings check it exists
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
        environ["KFVAL_TARGET_KUBECONFIG"] = str(kubeconfig)
    loaded = settings.load(ROOT / "radish.ini", environ=environ, overrides={})
    assert str(loaded.reports.junit).endswith("junit.xml"), loaded.reports
