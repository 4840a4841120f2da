"""The permissions table: what a request outside it says, which features a tag expression selects,
and `kfval rbac`'s ClusterRole, held to golden files and to the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kfval import cli
from kfval.bdd import selection
from kfval.kube import errors, permissions

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "fixtures" / "rbac"


def test_a_request_outside_the_table_names_its_verb_and_resource() -> None:
    granted = permissions.grants(["pytorchjob"])
    with pytest.raises(errors.PermissionNotInTableError) as raised:
        granted.require("delete", group="", resource="configmaps", namespace="kfval-r1-1", namespaced=True)
    assert "delete configmaps" in str(raised.value)
    assert "kfval/kube/permissions.py" in str(raised.value)
    assert isinstance(raised.value, errors.KfvalError)


def test_a_rule_used_in_scenario_namespaces_does_not_cover_every_namespace() -> None:
    granted = permissions.grants(["pytorchjob"])
    granted.require("list", group="kubeflow.org", resource="pytorchjobs", namespace="kfval-r1-1", namespaced=True)
    with pytest.raises(errors.PermissionNotInTableError, match=r"list pytorchjobs\.kubeflow\.org in every namespace"):
        granted.require("list", group="kubeflow.org", resource="pytorchjobs", namespace=None, namespaced=True)


def test_subresources_are_rules_of_their_own() -> None:
    granted = permissions.grants(["tfjob"])
    granted.require("get", group="", resource="pods/log", namespace="ns", namespaced=True)
    with pytest.raises(errors.PermissionNotInTableError, match="create pods/exec"):
        granted.require("create", group="", resource="pods/exec", namespace="ns", namespaced=True)
    permissions.grants(["notebooks"]).require("create", group="", resource="pods/exec", namespace="ns", namespaced=True)


def test_a_feature_brings_the_features_whose_steps_it_runs() -> None:
    assert permissions.features_with_needs(["helm"]) == ("pytorchjob", "notebooks", "helm")
    assert permissions.features_with_needs(["builder"]) == ("notebooks", "builder")
    with pytest.raises(errors.SetupError, match="'kaniko'"):
        permissions.features_with_needs(["kaniko"])


def test_tags_select_features_as_radish_selects_scenarios() -> None:
    assert selection.select([ROOT / "features"], "smoke and training") == ("pytorchjob", "tfjob")
    assert selection.select([ROOT / "features"], "post-upgrade") == ("pytorchjob", "notebooks")
    assert selection.select([ROOT / "features"]) == permissions.FEATURES
    with pytest.raises(errors.SetupError, match="'pytorchjob' selects no scenario"):
        selection.select([ROOT / "features" / "tfjob.feature"], "pytorchjob")


def test_every_feature_of_the_project_names_one_feature_of_the_table() -> None:
    for path in sorted((ROOT / "features").glob("*.feature")):
        tags = set(re.findall(r"@([\w-]+)", path.read_text().split("Feature:", 1)[0]))
        assert len(tags & set(permissions.FEATURES)) == 1, f"{path.name}: feature-level tags {sorted(tags)}"


def _rbac(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(["rbac", str(ROOT / "features"), *argv]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("golden", "argv"),
    [("all.yaml", ()), ("training.yaml", ("--tags", "training", "--bind", "kfval-ci/kfval"))],
)
def test_rbac_prints_the_golden_cluster_role(
    capsys: pytest.CaptureFixture[str], golden: str, argv: tuple[str, ...]
) -> None:
    assert _rbac(capsys, *argv) == (GOLDEN / golden).read_text()


def test_the_role_grants_every_rule_of_the_selected_features(capsys: pytest.CaptureFixture[str]) -> None:
    role = next(yaml.safe_load_all(_rbac(capsys, "--tags", "notebooks")))
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule.get("apiGroups", [])
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    for key in (permissions.RUN, permissions.PREFLIGHT, "notebooks"):
        for rule in permissions.TABLE[key]:
            assert {(rule.group, rule.resource, verb) for verb in rule.verbs} <= granted
    assert not any(resource == "pytorchjobs" for _, resource, _ in granted)


def test_the_readme_shows_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- permissions table: kfval rbac --markdown -->\n", "<!-- end of permissions table -->"
    assert start in readme and end in readme, "README.md lacks the markers of the permissions table"
    shown = readme.split(start, 1)[1].split(end, 1)[0]
    assert shown == _rbac(capsys, "--markdown"), "README.md is out of date: paste `kfval rbac --markdown` there"
