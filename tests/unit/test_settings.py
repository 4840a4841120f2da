"""Settings: radish.ini, then KFVAL_* from the environment, then radish -u, each overriding the last."""

from __future__ import annotations

import ast
import configparser
import dataclasses
import os
import re
from pathlib import Path

import pytest

from kfval import settings
from kfval.bdd import lifecycle
from kfval.embedded import launch
from kfval.kube import session
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


def test_console_progress_is_on_by_default_and_off_with_false(ini: Path) -> None:
    assert settings.load(ini, environ={}, overrides={}).console.progress is True
    assert settings.load(ini, environ={}, overrides={"console.progress": "false"}).console.progress is False
    assert settings.load(ini, environ={"KFVAL_CONSOLE_PROGRESS": "off"}, overrides={}).console.progress is False


def test_a_console_progress_that_is_not_yes_or_no_is_refused(ini: Path) -> None:
    with pytest.raises(SetupError, match=re.escape("console.progress is 'flase'; write true or false")):
        settings.load(ini, environ={}, overrides={"console.progress": "flase"})
    with pytest.raises(SetupError, match=re.escape("unknown setting console.colour")):
        settings.load(ini, environ={}, overrides={"console.colour": "true"})


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
    "console": settings.Console,
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
    "deletions_awaited_at_end": "false",
    "insecure": "true",
    "progress": "false",
    "timeouts": "7",
    "thresholds": "0.5",
    "registry": "registry.example:5000",
    "registry_address": "registry.example:5000",
    "namespace_prefix": "kfval-sample",
    "profile_namespace": "false",
    "images": "registry.example:5000/kfval/sample:1",
    "executor_image": "registry.example:5000/kaniko/executor:1",
    "base_image": "registry.example:5000/kfval/base:1",
    "first_chart": "kubeflow/installer",
    "next_chart": "oci://registry.example:5000/charts/installer",
    "upgrade_values": "radish.ini",
    "preflight": "false",
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


# -- every value is checked when the settings load, naming the key, its origin and the fix ---------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "thresholds.pytorch_min_accuracy",
            "96.62",
            "thresholds.pytorch_min_accuracy is 96.62: an accuracy is a fraction from 0 to 1, not a percentage: "
            "write 0.9662 for 96.62 % (from -u thresholds.pytorch_min_accuracy)",
        ),
        ("thresholds.tf_min_accuracy", "-0.1", "thresholds.tf_min_accuracy is -0.1: an accuracy is a fraction"),
        ("thresholds.tf_min_accuracy", "250", "thresholds.tf_min_accuracy is 250: an accuracy is a fraction"),
        ("thresholds.tf_min_accuracy", "nan", "thresholds.tf_min_accuracy is nan: an accuracy is a fraction"),
        (
            "thresholds.max_cpu_throttled_share",
            "75",
            "thresholds.max_cpu_throttled_share is 75: a share is a fraction from 0 to 1, not a percentage: write 0.75",
        ),
        ("thresholds.tf_max_cross_entropy", "0", "tf_max_cross_entropy is 0: a cross entropy is a number greater"),
        ("thresholds.tf_max_cross_entropy", "-3", "tf_max_cross_entropy is -3: a cross entropy is a number greater"),
        ("thresholds.pytorch_min_acuracy", "0.9", "unknown setting thresholds.pytorch_min_acuracy; known keys"),
        ("images.pytorch_mnst", "kfval/x:1", "unknown setting images.pytorch_mnst; known keys in [images]"),
        (
            "target.namespace_prefix",
            "QA_Team",
            "target.namespace_prefix is 'QA_Team': a namespace name is a DNS label: lowercase letters, digits and "
            "'-', starting with a letter or a digit; write e.g. 'qa-team'",
        ),
        ("target.namespace_prefix", "-qa", "target.namespace_prefix is '-qa': a namespace name is a DNS label"),
        ("target.namespace_prefix", "q" * 49, "it has 49 characters, and the suite adds -<run id>-<n> (up to 15)"),
        ("timeouts.training", "-5", "timeouts.training is -5; a timeout is a positive number of seconds"),
        ("timeouts.apply", "0", "timeouts.apply is 0; a timeout is a positive number of seconds"),
        ("timeouts.cleanup", "inf", "timeouts.cleanup is inf; a timeout is a positive number of seconds"),
        ("images.notebook", "kfval/Notebook:latest", "not an image reference: repository names are lowercase"),
        ("images.tf_mnist", "kfval/tf mnist:1", "images.tf_mnist is 'kfval/tf mnist:1', which is not an image"),
        ("images.notebook_r", "", "images.notebook_r is '', which is not an image reference: it is empty"),
        ("builder.executor_image", "https://gcr.io/kaniko", "no scheme (drop the http:// or https://)"),
        ("builder.base_image", "r.example/tf::2", "builder.base_image is 'r.example/tf::2', which is not an image"),
        ("reports.cucumber", "radish.ini/cucumber.json", "reports.cucumber is 'radish.ini/cucumber.json': radish.ini"),
        ("reports.junit", "tests", "reports.junit is 'tests': it is a folder; name the report file in it"),
        ("target.in_cluster", "treu", "target.in_cluster is 'treu'; write true or false (from -u target.in_cluster)"),
        ("builder.insecure", "maybe", "builder.insecure is 'maybe'; write true or false"),
        ("helm.first_chart", "/nowhere/chart", "helm.first_chart is '/nowhere/chart', which does not exist; name a"),
        ("helm.next_chart", "charts/kubeflow/2.0.0", "helm.next_chart is 'charts/kubeflow/2.0.0', which does not"),
        ("helm.next_chart", "kubeflow-2.0.0.tgz", "helm.next_chart is 'kubeflow-2.0.0.tgz', which does not exist"),
        ("helm.upgrade_values", "values.yaml, tests", "helm.upgrade_values names 'values.yaml', which does not exist"),
        ("helm.upgrade_values", "tests", "helm.upgrade_values names 'tests', which is a folder"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key_and_the_fix(key: str, value: str, message: str) -> None:
    with pytest.raises(SetupError, match=re.escape(message)):
        settings.load(ROOT / "radish.ini", environ={}, overrides={key: value})


def test_the_message_says_a_value_came_from_the_environment() -> None:
    with pytest.raises(SetupError) as refused:
        settings.load(ROOT / "radish.ini", environ={"KFVAL_THRESHOLDS_TF_MIN_ACCURACY": "90"}, overrides={})
    assert str(refused.value) == (
        "thresholds.tf_min_accuracy is 90: an accuracy is a fraction from 0 to 1, not a percentage: write 0.9 for "
        "90 % (from KFVAL_THRESHOLDS_TF_MIN_ACCURACY in the environment)"
    )


def test_the_message_names_radish_ini_when_the_value_is_written_there(tmp_path: Path) -> None:
    ini = tmp_path / "radish.ini"
    ini.write_text(INI.replace("namespace_prefix = qa", "namespace_prefix = QA"))
    with pytest.raises(SetupError, match=re.escape(f"write e.g. 'qa' (from {ini})")):
        settings.load(ini, environ={}, overrides={})


def test_a_report_folder_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root writes anywhere its file system lets it: /proc/1 it does not
        locked = Path("/proc/1")
    if os.access(locked, os.W_OK):
        pytest.skip("this user may write everywhere")
    with pytest.raises(SetupError, match=re.escape(f"{locked} is not writable")):
        settings.Reports(html=locked / "report.html")


def test_a_kubeconfig_target_whose_file_is_missing_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match=re.escape(f"target.kubeconfig is '{tmp_path / 'nope'}', which does not")):
        settings.load(
            ROOT / "radish.ini",
            environ={},
            overrides={"target.kind": "kubeconfig", "target.kubeconfig": str(tmp_path / "nope")},
        )
    assert settings.Target(kubeconfig=tmp_path / "nope").kind == "local", "a local target never reads it"


def test_the_largest_namespace_prefix_still_makes_valid_namespace_names() -> None:
    prefix = "q" * (session.NAMESPACE_NAME_MAX_CHARACTERS - session.NAMESPACE_SUFFIX_MAX_CHARACTERS)
    assert session.namespace_prefix_problem(prefix) is None
    longest = f"{prefix}-{session.new_run_id()}-9999"
    assert len(longest) == session.NAMESPACE_NAME_MAX_CHARACTERS
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", longest)
