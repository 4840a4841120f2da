"""The Helm engines' pure parts: the CLI's command lines and answers, values merging, engine choice."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kfval.kubeflow import helmengines, releases

CHARTS = Path(__file__).resolve().parents[2] / "manifests/charts/kubeflow-installer"


def test_resource_rows_become_set_pairs_and_expectations() -> None:
    rows = [
        {"resource": "cpu", "limit": "500m", "request": "50m"},
        {"resource": "memory", "limit": "1Gi", "request": "128Mi"},
    ]
    pairs, expected = releases.resource_values("componentResources", rows)
    assert pairs == [
        "componentResources.limits.cpu=500m",
        "componentResources.requests.cpu=50m",
        "componentResources.limits.memory=1Gi",
        "componentResources.requests.memory=128Mi",
    ]
    assert expected == {"cpu": ("500m", "50m"), "memory": ("1Gi", "128Mi")}


def test_values_coalesce_as_helms_maps_merge_and_the_rest_is_replaced() -> None:
    base = {"image": "a", "componentResources": {"limits": {"cpu": "1"}}, "list": [1]}
    over = {"componentResources": {"limits": {"memory": "1Gi"}}, "list": [2]}
    assert helmengines.merge(base, over) == {
        "image": "a",
        "componentResources": {"limits": {"cpu": "1", "memory": "1Gi"}},
        "list": [2],
    }


def test_the_chart_version_of_a_folder_and_none_for_a_reference() -> None:
    assert releases.chart_version(str(CHARTS / "1.0.0")) == "1.0.0"
    assert releases.chart_version(str(CHARTS / "1.1.0")) == "1.1.0"
    assert releases.chart_version("oci://ghcr.io/example/installer") is None


def cli() -> helmengines.CliEngine:
    return helmengines.CliEngine("/usr/local/bin/helm", helmengines.HelmTarget(Path("/k/config"), "prod"))


def test_the_cli_upgrade_command_line() -> None:
    request = {
        "action": "upgrade",
        "release": "kubeflow",
        "namespace": "kf",
        "chart": "charts/installer",
        "values": {},
        "set": ["a.b=1", "c=2"],
        "wait": True,
        "rollback_on_failure": True,
        "labels": {"kfval.dev/run-id": "r1"},
    }
    argv = cli().argv(request, timeout=300, values_file=Path("/tmp/v.yaml"))
    assert argv == [
        "/usr/local/bin/helm", "--namespace", "kf", "--kubeconfig", "/k/config", "--kube-context", "prod",
        "upgrade", "kubeflow", "charts/installer", "-f", "/tmp/v.yaml", "-o", "json",
        "--set", "a.b=1", "--set", "c=2", "--wait", "--timeout", "300s",
        "--labels", "kfval.dev/run-id=r1", "--rollback-on-failure",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "tail"),
    [
        (
            {"action": "rollback", "revision": 1, "wait": True},
            ["rollback", "kubeflow", "1", "--wait", "--timeout", "60s"],
        ),
        (
            {"action": "uninstall", "wait": True, "missing_ok": True},
            ["uninstall", "kubeflow", "--wait", "--timeout", "60s", "--ignore-not-found"],
        ),
        ({"action": "history"}, ["history", "kubeflow", "-o", "json"]),
        ({"action": "values"}, ["get", "values", "kubeflow", "-o", "json"]),
        ({"action": "manifest"}, ["get", "manifest", "kubeflow"]),
    ],
)
def test_the_cli_command_lines_of_the_other_actions(request_: dict[str, object], tail: list[str]) -> None:
    argv = cli().argv({"release": "kubeflow", "namespace": "kf", **request_}, timeout=60, values_file=None)
    assert argv[7:] == tail


def test_the_clis_json_is_read_in_the_sdks_shape() -> None:
    status = {
        "name": "kubeflow",
        "namespace": "kf",
        "version": 2,
        "info": {"status": "deployed", "description": "Upgrade complete"},
        "chart": {"metadata": {"name": "kubeflow-installer", "version": "1.1.0", "appVersion": "1.10.0"}},
    }
    revision = releases.Revision.of(helmengines._normalized("status", json.dumps(status)))
    assert revision == releases.Revision(2, "deployed", "kubeflow-installer", "1.1.0", "1.10.0")
    history = [
        {"revision": 1, "status": "superseded", "chart": "kubeflow-installer-1.0.0", "app_version": "1.9.2"},
        {"revision": 2, "status": "deployed", "chart": "kubeflow-installer-1.1.0", "app_version": "1.10.0"},
    ]
    rows = [releases.Revision.of(row) for row in helmengines._normalized("history", json.dumps(history))]
    assert [(r.number, r.status, r.chart_name, r.chart_version) for r in rows] == [
        (1, "superseded", "kubeflow-installer", "1.0.0"),
        (2, "deployed", "kubeflow-installer", "1.1.0"),
    ]


def test_the_cli_is_chosen_when_on_path_and_the_sdk_otherwise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = helmengines.HelmTarget()
    monkeypatch.setenv("PATH", str(tmp_path))
    assert isinstance(helmengines.select(target), helmengines.SdkEngine)
    helm = tmp_path / "helm"
    helm.write_text("#!/bin/sh\n")
    helm.chmod(0o755)
    chosen = helmengines.select(target)
    assert isinstance(chosen, helmengines.CliEngine) and chosen.argv(
        {"action": "history", "release": "r", "namespace": "n"}, timeout=1, values_file=None
    )[0] == os.fspath(helm)
