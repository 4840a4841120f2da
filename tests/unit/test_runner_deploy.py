"""deploy/runner: the runner image and the in-cluster Job hold together without a cluster. The
Dockerfile's sources exist and it runs `kfval run` in-cluster; the Job runs as the ServiceAccount the
binding names, and its settings load; rbac.yaml is exactly what `kfval rbac` prints for the Job's tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kfval import cli, settings
from kfval.embedded.images import dockerfile

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "deploy" / "runner"


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((RUNNER / name).read_text()) if d]


def job() -> dict[str, Any]:
    [found] = documents("job.yaml")
    return found


def test_every_manifest_is_yaml_of_the_kinds_the_runner_needs() -> None:
    kinds = sorted(d["kind"] for path in sorted(RUNNER.glob("*.yaml")) for d in documents(path.name))
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "Job", "Namespace", "PersistentVolumeClaim", "ServiceAccount"]
    namespaced = [d for path in RUNNER.glob("*.yaml") for d in documents(path.name) if d["kind"] not in
                  ("Namespace", "ClusterRole", "ClusterRoleBinding")]  # fmt: skip
    assert {d["metadata"]["namespace"] for d in namespaced} == {"kfval-ci"}


def test_the_job_runs_as_the_bound_service_account_and_keeps_the_reports() -> None:
    spec = job()["spec"]["template"]["spec"]
    [account] = documents("serviceaccount.yaml")
    binding = next(d for d in documents("rbac.yaml") if d["kind"] == "ClusterRoleBinding")
    assert spec["serviceAccountName"] == account["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kfval-runner", "namespace": "kfval-ci"}]
    [claim] = documents("reports-pvc.yaml")
    assert spec["volumes"] == [{"name": "reports", "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}}]
    assert spec["containers"][0]["volumeMounts"] == [{"name": "reports", "mountPath": "/reports"}]


def test_the_jobs_settings_load_as_an_in_cluster_run_writing_to_the_mounted_reports() -> None:
    environ = {e["name"]: e["value"] for e in job()["spec"]["template"]["spec"]["containers"][0]["env"]}
    loaded = settings.load(ROOT / "radish.ini", environ=environ, overrides={})
    assert (loaded.target.kind, loaded.target.in_cluster) == ("kubeconfig", True)
    assert loaded.reports == settings.Reports(
        Path("/reports/cucumber.json"), Path("/reports/junit.xml"), Path("/reports/report.html")
    )


def test_rbac_yaml_is_what_kfval_rbac_prints_for_the_jobs_tags(capsys: pytest.CaptureFixture[str]) -> None:
    args = job()["spec"]["template"]["spec"]["containers"][0]["args"]
    tags = args[args.index("--tags") + 1]
    generated = (RUNNER / "rbac.yaml").read_text()
    header, printed = generated.split("\n", 1)
    command = f"kfval rbac --tags {tags} --name kfval-runner --bind kfval-ci/kfval-runner"
    assert header == f"# Generated: {command}"
    assert cli.main(["rbac", str(ROOT / "features"), *command.split()[2:]]) == 0
    assert printed == capsys.readouterr().out, f"deploy/runner/rbac.yaml is stale: regenerate it with `{command}`"


def test_the_image_runs_kfval_run_in_cluster_from_the_projects_files() -> None:
    parsed = dockerfile.parse((RUNNER / "Dockerfile").read_text())
    assert parsed.entrypoint == ("kfval", "run")
    assert parsed.workdir == "/suite"
    assert parsed.user == "1000"
    copied = {source for copy in parsed.copies for source in copy.sources}
    assert copied == {"pyproject.toml", "README.md", "src", "radish.ini", "features", "steps", "manifests"}
    assert all((ROOT / source).exists() for source in copied)
    loaded = settings.load(ROOT / "radish.ini", environ=dict(parsed.env), overrides={})
    assert loaded.target.in_cluster and loaded.reports.cucumber == Path("/reports/cucumber.json")
    ignored = (RUNNER / "Dockerfile.dockerignore").read_text().splitlines()
    assert {f"!{source}" for source in copied} <= set(ignored)
