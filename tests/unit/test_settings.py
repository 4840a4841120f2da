"""Settings: radish.ini, then KFVAL_* from the environment, then radish -u, each overriding the last."""

from __future__ import annotations

import ast
import configparser
import dataclasses
import re
from pathlib import Path

import pytest

from kfval import settings
from kfval.bdd import lifecycle
from kfval.embedded import launch
from kfval.kube.errors import SetupError
from kfval.kubeflow import builds

INI = """
[target]
kind = local
namespace_prefix = qa
[timeouts]
training = 600
[thresholds]
pytorch_min_accuracy = 0.9662
[images]
pytorch_mnist = kfval/pytorch-mnist:latest
"""


@pytest.fixture
def ini(tmp_path: Path) -> Path:
    path = tmp_path / "radish.ini"
    path.write_text(INI)
    return path


def test_ini_values_are_typed(ini: Path) -> None:
    config = settings.load(ini, environ={}, overrides={})
    assert config.target.kind == "local"
    assert config.target.namespace_prefix == "qa"
    assert config.timeouts.training == 600.0
    assert config.timeouts.pod_start == settings.Timeouts().pod_start
    assert config.threshold("pytorch_min_accuracy") == pytest.approx(0.9662)
    assert config.image("pytorch_mnist") == "kfval/pytorch-mnist:latest"


def test_environment_overrides_ini_and_command_line_overrides_both(ini: Path) -> None:
    environ = {"KFVAL_TIMEOUTS_TRAINING": "300", "KFVAL_TARGET_KIND": "kubeconfig", "HOME": "/root"}
    config = settings.load(ini, environ=environ, overrides={"timeouts.training": "120"})
    assert config.target.kind == "kubeconfig"
    assert config.timeouts.training == 120.0


def test_a_bad_target_kind_names_the_choices(ini: Path) -> None:
    with pytest.raises(SetupError, match=re.escape("target.kind is 'cloud'; use one of local, kubeconfig")):
        settings.load(ini, environ={}, overrides={"target.kind": "cloud"})


def test_a_non_numeric_timeout_names_the_key(ini: Path) -> None:
    with pytest.raises(SetupError, match=re.escape("timeouts.training is 'soon', which is not a number")):
        settings.load(ini, environ={}, overrides={"timeouts.training": "soon"})


def test_an_unknown_key_is_refused_with_the_known_ones(ini: Path) -> None:
    with pytest.raises(SetupError, match=r"unknown setting timeouts.trainig; known keys in \[timeouts\]"):
        settings.load(ini, environ={}, overrides={"timeouts.trainig": "5"})


def test_an_override_without_a_section_is_refused(ini: Path) -> None:
    with pytest.raises(SetupError, match=re.escape("not of the form section.key")):
        settings.load(ini, environ={}, overrides={"kind": "local"})


def test_a_missing_threshold_says_where_to_add_it(ini: Path) -> None:
    config = settings.load(ini, environ={}, overrides={})
    with pytest.raises(SetupError, match=r"thresholds.tf_max_cross_entropy is not set; add it to \[thresholds\]"):
        config.threshold("tf_max_cross_entropy")


PROJECT = Path(__file__).parents[2]


def test_the_project_radish_ini_loads() -> None:
    config = settings.load(PROJECT / "radish.ini", environ={}, overrides={})
    assert config.target.kind == "local"
    assert config.threshold("pytorch_min_accuracy") == pytest.approx(0.9662)


def test_a_missing_radish_ini_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="run the suite from the project folder"):
        settings.load(tmp_path / "radish.ini", environ={}, overrides={})


def test_a_kfval_variable_that_names_no_section_is_named_in_the_error(ini: Path) -> None:
    with pytest.raises(SetupError, match="KFVAL_TEST_HTML"):
        settings.load(ini, environ={"KFVAL_TEST_HTML": "1"}, overrides={})


# -- every key of the project's radish.ini does what it says --------------------------------------

ROOT = Path(__file__).resolve().parents[2]
DATACLASS_SECTIONS = {
    "target": settings.Target,
    "run": settings.Run,
    "timeouts": settings.Timeouts,
    "reports": settings.Reports,
    "notebooks": settings.Notebooks,
    "helm": settings.Helm,
    "builder": builds.Builder,
}


def _project_ini() -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None)
    parser.read(ROOT / "radish.ini")
    return {section: dict(parser.items(section)) for section in parser.sections()}


def _code() -> str:
    """Every attribute read and call of the suite outside settings.py, and of the steps (not their
    docstrings or comments): where a setting must be read to take effect."""
    files = [*(ROOT / "src/kfval").rglob("*.py"), *(ROOT / "steps").glob("*.py")]
    nodes = [
        node
        for f in files
        if f.name != "settings.py" and "embedded" not in f.parts
        for node in ast.walk(ast.parse(f.read_text()))
        if isinstance(node, ast.Attribute | ast.Call)
    ]
    return "\n".join(ast.unparse(node) for node in nodes)


def _manifests() -> str:
    return "\n".join(f.read_text() for f in (ROOT / "manifests").rglob("*.yaml"))


def _is_read(section: str, key: str, code: str, manifests: str) -> bool:
    if section in DATACLASS_SECTIONS:
        return re.search(rf"\b{section}(\([^)]*\))?\.{key}\b", code) is not None
    if section == "thresholds":
        return f"threshold('{key}')" in code
    if section == "images":
        return f"image('{key}')" in code
    return f"${{{key}}}" in manifests


def test_every_key_of_radish_ini_is_read_where_it_takes_effect() -> None:
    code, manifests = _code(), _manifests()
    keys = [(section, key) for section, values in _project_ini().items() for key in values]
    assert len(keys) > 20
    unread = [f"{section}.{key}" for section, key in keys if not _is_read(section, key, code, manifests)]
    assert unread == [], f"radish.ini keys that nothing reads: {unread}"


def test_every_setting_is_written_down_in_radish_ini() -> None:
    ini = _project_ini()
    for section, cls in DATACLASS_SECTIONS.items():
        missing = {f.name for f in dataclasses.fields(cls)} - set(ini.get(section, {}))
        assert not missing, f"[{section}] in radish.ini does not show {sorted(missing)}"


SAMPLES = {
    "kind": "kubeconfig",
    "in_cluster": "true",
    "strict_permissions": "true",
    "skip_missing": "true",
    "insecure": "true",
    "timeouts": "7",
    "thresholds": "0.5",
    "registry": "registry.example:5000",
    "registry_address": "registry.example:5000",
}


def test_each_key_of_radish_ini_changes_the_settings_when_overridden() -> None:
    default = settings.load(ROOT / "radish.ini", environ={}, overrides={})
    for section, values in _project_ini().items():
        for key in values:
            sample = SAMPLES.get(key) or SAMPLES.get(section) or "/tmp/kfval-sample"
            changed = settings.load(ROOT / "radish.ini", environ={}, overrides={f"{section}.{key}": sample})
            assert changed != default, f"-u {section}.{key}={sample} left the settings as they were"


# -- [builder] ------------------------------------------------------------------------------------


def test_a_registry_written_as_a_url_is_refused_with_the_form_to_use() -> None:
    with pytest.raises(SetupError, match=r"builder\.registry is 'https://r\.example'.*host\[:port\]"):
        settings.load(ROOT / "radish.ini", environ={}, overrides={"builder.registry": "https://r.example"})


def test_the_registry_password_stays_out_of_the_settings_repr() -> None:
    loaded = settings.load(ROOT / "radish.ini", environ={"KFVAL_BUILDER_PASSWORD": "pa55word"}, overrides={})
    assert loaded.builder.password == "pa55word"
    assert "pa55word" not in repr(loaded)


def test_a_build_needs_a_registry_and_a_base_image() -> None:
    assert builds.Builder().missing() == ["builder.registry", "builder.base_image"]
    complete = builds.Builder(registry="r:5000", base_image="r:5000/tf")
    assert complete.missing() == []
    assert complete.address == "r:5000"
    assert dataclasses.replace(complete, registry_address="10.0.0.1:5000").address == "10.0.0.1:5000"


def test_the_embedded_registry_fills_only_an_empty_builder_section() -> None:
    embedded = launch.RegistryInfo("registry.kube-system.svc.cluster.local:5000", "10.1.0.1:5000", "kfval", "pw")
    filled = lifecycle.with_embedded_registry(builds.Builder(), embedded)
    assert (filled.registry, filled.address, filled.username, filled.password, filled.insecure) == (
        "registry.kube-system.svc.cluster.local:5000", "10.1.0.1:5000", "kfval", "pw", True,
    )  # fmt: skip
    assert filled.base_image == "registry.kube-system.svc.cluster.local:5000/base/tensorflow:2.21.0"
    own = builds.Builder(registry="mine:5000", base_image="mine:5000/tf")
    assert lifecycle.with_embedded_registry(own, embedded) is own
    assert lifecycle.with_embedded_registry(builds.Builder(), None) == builds.Builder()
