"""One typed, validated Settings object from radish.ini, `KFVAL_*` variables and radish `-u key=value`.

Precedence: the command line wins over the environment, which wins over radish.ini. Keys are named
`section.key` everywhere (`-u target.kind=kubeconfig`, `KFVAL_TARGET_KIND=kubeconfig`), so one name
works in all three places. A bad value fails at start-up with the key, its source and the fix: a run
that would train for minutes before an accuracy check could never pass (a percentage given for a
fraction), or before the cluster refuses its first namespace, never starts.
"""

from __future__ import annotations

import configparser
import dataclasses
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from kfval.kube import imagenames, outages, session
from kfval.kube.errors import SetupError
from kfval.kubeflow.builds import Builder

RADISH_INI = Path("radish.ini")
TARGET_KINDS = ("local", "kubeconfig")
SECTIONS = frozenset(
    {
        "target",
        "run",
        "timeouts",
        "thresholds",
        "images",
        "variables",
        "reports",
        "notebooks",
        "helm",
        "builder",
        "console",
    }
)
ENV_PREFIX = "KFVAL_"
ACCURACY_THRESHOLDS = ("pytorch_min_accuracy", "tf_min_accuracy")
"""Fractions of correct predictions, from 0 to 1, as the workloads print them."""
CROSS_ENTROPY_THRESHOLDS = ("tf_max_cross_entropy",)
"""Upper bounds of a loss, which is greater than 0."""
SHARE_THRESHOLDS = ("max_cpu_throttled_share",)
"""Shares of a scenario's usage readings, from 0 to 1."""
IMAGES = ("pytorch_mnist", "tf_mnist", "notebook", "notebook_r")
FLAGS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


class SettingError(SetupError):
    """A setting's value is wrong; `key` (`section.key`) lets the loader say where the value came from."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Target:
    """Which cluster to run against: the embedded one (`local`) or one from a kubeconfig."""

    kind: str = "local"
    kubeconfig: Path | None = None
    context: str | None = None
    in_cluster: bool = False
    namespace_prefix: str = "kfval"
    state_dir: Path = Path(".state/cluster")

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise SettingError("target.kind", f"target.kind is {self.kind!r}; use one of {', '.join(TARGET_KINDS)}")
        problem = session.namespace_prefix_problem(self.namespace_prefix)
        if problem:
            raise SettingError(
                "target.namespace_prefix", f"target.namespace_prefix is {self.namespace_prefix!r}: {problem}"
            )
        kubeconfig = self.kubeconfig
        if self.kind == "kubeconfig" and not self.in_cluster and kubeconfig is not None and not kubeconfig.is_file():
            state = "is a folder" if kubeconfig.is_dir() else "does not exist"
            raise SettingError(
                "target.kubeconfig",
                f"target.kubeconfig is {str(kubeconfig)!r}, which {state}; name a kubeconfig file, or leave it "
                "empty for $KUBECONFIG or ~/.kube/config",
            )


@dataclass(frozen=True)
class Run:
    """How a run checks itself against the cluster before and while it runs."""

    preflight: bool = True
    """Check the cluster (API, CRDs, controllers, permissions, storage) before the first scenario."""
    strict_permissions: bool = False
    """Refuse, before sending it, any request the permissions table (kfval.kube.permissions) lacks: the
    project's tests run so, which keeps `kfval rbac` complete."""
    skip_missing: bool = False
    """Skip, instead of failing at once, the scenarios that need what preflight found missing (a feature's CRD
    or controller, a capability tag such as `@needs-rwx`); the reports name the reason either way."""
    deletions_awaited_at_end: bool = True
    """A scenario's cleanup asks for the deletion of what it made and the next scenario starts while it goes;
    the run waits for every deletion before it ends and fails when one did not finish in `timeouts.cleanup`.
    False: each cleanup waits until its namespace is gone (a cluster too small for two scenarios at once)."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds per kind of wait."""

    apply: float = 30.0
    pod_start: float = 180.0
    training: float = 900.0
    cleanup: float = 120.0
    image_pull: float = 60.0
    """How long a pod may keep failing to pull its image before a wait gives up on it."""
    build: float = 300.0
    """An in-cluster image build, from creating the builder Job to its end."""
    helm: float = 300.0
    """Helm's --timeout for an install, upgrade or rollback that should succeed."""
    failing_upgrade: float = 30.0
    """Helm's --timeout for an upgrade a scenario expects to fail (it waits out the whole of it)."""
    api_outage: float = outages.DEFAULT_BOUND_SECONDS
    """How long the API server may stay unreachable (refused, reset, stalled, 429/5xx) before a step fails;
    shorter outages are ridden out. Cleanup keeps trying for its own `cleanup` timeout instead."""

    def __post_init__(self) -> None:
        for timeout in dataclasses.fields(self):
            seconds = getattr(self, timeout.name)
            if not (seconds > 0 and math.isfinite(seconds)):
                raise SettingError(
                    f"timeouts.{timeout.name}",
                    f"timeouts.{timeout.name} is {seconds:g}; a timeout is a positive number of seconds",
                )


@dataclass(frozen=True)
class Notebooks:
    """How notebook scenarios meet the cluster's Kubeflow profiles and storage."""

    profile_namespace: bool = True
    """Label each scenario's namespace as a Kubeflow profile's, as the profile controller does, so the
    PodDefault webhook (whose namespaceSelector requires it) acts there."""
    storage_class: str = ""
    """The StorageClass of workspace volumes, which must offer ReadWriteMany; empty: the cluster's default."""


@dataclass(frozen=True)
class Helm:
    """The installation a Helm scenario installs and upgrades: by default the project's stand-in chart."""

    first_chart: str = "manifests/charts/kubeflow-installer/1.0.0"
    """The chart (a folder, an archive or a repo/chart reference) of the release's first version."""
    next_chart: str = "manifests/charts/kubeflow-installer/1.1.0"
    upgrade_values: tuple[Path, ...] = (Path("manifests/charts/kubeflow-installer/upgrade-values.yaml"),)
    """Values files of the upgrade, in order (later ones win); comma-separated in radish.ini."""
    resources_key: str = "componentResources"
    """Where the chart takes the resources of its component containers (limits and requests)."""
    image_key: str = "image"
    """The value that sets the image of the chart's containers (a failing upgrade points it nowhere)."""
    instance_label: str = "app.kubernetes.io/instance"
    """The pod label whose value is the release name: how the release's pods are found."""

    def __post_init__(self) -> None:
        for key in ("first_chart", "next_chart"):
            chart = getattr(self, key)
            if _names_local_chart(chart) and not Path(chart).expanduser().exists():
                raise SettingError(
                    f"helm.{key}",
                    f"helm.{key} is {chart!r}, which does not exist; name a chart folder, a .tgz archive or a "
                    "repo/chart reference",
                )
        for values_file in self.upgrade_values:
            if not values_file.is_file():
                state = "is a folder" if values_file.is_dir() else "does not exist"
                raise SettingError(
                    "helm.upgrade_values",
                    f"helm.upgrade_values names {str(values_file)!r}, which {state}; name values files, "
                    "comma-separated",
                )


def _names_local_chart(chart: str) -> bool:
    """Whether Helm can only read `chart` as a local folder or archive: a path, not `repo/chart` or oci://."""
    if "://" in chart:
        return False
    return chart.startswith(("/", ".", "~")) or chart.endswith(".tgz") or chart.count("/") > 1


REPORT_FILES = ("cucumber", "junit", "html")
"""The [reports] keys that name a file a run writes (each is checked writable, and locked while a run writes it)."""


@dataclass(frozen=True)
class Reports:
    """Where the reports go; each must be a file the run can write (its folders are made as needed)."""

    cucumber: Path = Path("reports/cucumber.json")
    junit: Path = Path("reports/junit.xml")
    html: Path = Path("reports/report.html")
    history: Path | None = None
    """One summary per run, whose latest ones the HTML page draws as a trend (None: `history/` beside the
    Cucumber report, so a run reporting elsewhere, a test's or the post-upgrade one, keeps its own trend)."""

    def __post_init__(self) -> None:
        for name in REPORT_FILES:
            path = getattr(self, name)
            problem = _unwritable(path)
            if problem:
                raise SettingError(f"reports.{name}", f"reports.{name} is {str(path)!r}: {problem}")


def _unwritable(path: Path) -> str | None:
    """Why a report cannot be written at `path` (None when it can), before a run spends minutes on it."""
    if path.is_dir():
        return "it is a folder; name the report file in it"
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        return f"{target} is not writable"
    return None


@dataclass(frozen=True)
class Console:
    """What the run shows on the console besides radish's own lines."""

    progress: bool = True
    """A status line under a step while it waits (in place on a terminal, every 15 s at most in a log)."""


@dataclass(frozen=True)
class Settings:
    """Everything a run is configured with."""

    target: Target = field(default_factory=Target)
    run: Run = field(default_factory=Run)
    timeouts: Timeouts = field(default_factory=Timeouts)
    thresholds: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    images: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    reports: Reports = field(default_factory=Reports)
    notebooks: Notebooks = field(default_factory=Notebooks)
    helm: Helm = field(default_factory=Helm)
    builder: Builder = field(default_factory=Builder)
    console: Console = field(default_factory=Console)

    def __post_init__(self) -> None:
        _refuse_unknown(
            "thresholds", self.thresholds, {*ACCURACY_THRESHOLDS, *CROSS_ENTROPY_THRESHOLDS, *SHARE_THRESHOLDS}
        )
        for name, value in self.thresholds.items():
            problem = _threshold_problem(name, value)
            if problem:
                raise SettingError(f"thresholds.{name}", f"thresholds.{name} is {value:g}: {problem}")
        _refuse_unknown("images", self.images, set(IMAGES))
        references = {f"images.{name}": value for name, value in self.images.items()}
        references |= {f"builder.{name}": getattr(self.builder, name) for name in ("executor_image", "base_image")}
        for key, reference in references.items():
            problem = imagenames.problem(reference)
            if problem and (key != "builder.base_image" or reference):
                raise SettingError(key, f"{key} is {reference!r}, which is not an image reference: {problem}")

    def threshold(self, name: str) -> float:
        if name not in self.thresholds:
            raise SetupError(f"thresholds.{name} is not set; add it to [thresholds] in radish.ini")
        return self.thresholds[name]

    def image(self, name: str) -> str:
        if name not in self.images:
            raise SetupError(f"images.{name} is not set; add it to [images] in radish.ini")
        return self.images[name]


def _merge(
    ini: Path, environ: Mapping[str, str], overrides: Mapping[str, str]
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """The values by section and key, and where each `section.key` was last set."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None)
    if not ini.exists():
        raise SetupError(
            f"{ini} not found in {Path.cwd()}: run the suite from the project folder, where radish.ini, "
            "features/, steps/ and manifests/ are"
        )
    try:
        parser.read(ini)
    except configparser.Error as error:
        raise SetupError(f"{ini} cannot be read: {error}") from error
    values = {section: dict(parser.items(section)) for section in parser.sections()}
    origins = {f"{section}.{key}": f"from {ini}" for section, keys in values.items() for key in keys}
    for source, pairs in (("the environment", _from_environ(environ)), ("-u", overrides)):
        for key, value in pairs.items():
            section, dot, name = key.partition(".")
            if not dot or not name:
                raise SetupError(
                    f"setting {key!r} from {source} is not of the form section.key (e.g. target.kind=kubeconfig)"
                )
            if section not in SECTIONS:
                origin = _environ_name(key) if source == "the environment" else key
                raise SetupError(
                    f"{origin} (from {source}) names no settings section; known: {', '.join(sorted(SECTIONS))}"
                )
            values.setdefault(section, {})[name] = value
            origins[key] = f"from -u {key}" if source == "-u" else f"from {_environ_name(key)} in the environment"
    return values, origins


def _environ_name(key: str) -> str:
    return f"{ENV_PREFIX}{key.replace('.', '_', 1).upper()}"


def _from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`KFVAL_TARGET_KIND` -> `target.kind`: the first underscore separates the section."""
    result = {}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and "_" in name[len(ENV_PREFIX) :]:
            section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
            result[f"{section}.{key}"] = value
    return result


def _threshold_problem(name: str, value: float) -> str | None:
    if name in CROSS_ENTROPY_THRESHOLDS:
        return None if value > 0 and math.isfinite(value) else "a cross entropy is a number greater than 0"
    what, example = ("a share", "0.75") if name in SHARE_THRESHOLDS else ("an accuracy", "0.9662")
    if 0 <= value <= 1:
        return None
    if 1 < value <= 100:
        return f"{what} is a fraction from 0 to 1, not a percentage: write {value / 100:.10g} for {value:g} %"
    return f"{what} is a fraction from 0 to 1 (e.g. {example})"


def _number(section: str, key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError as error:
        raise SettingError(f"{section}.{key}", f"{section}.{key} is {text!r}, which is not a number") from error


def _flag(section: str, key: str, text: str) -> bool:
    """A yes/no setting; anything but the usual spellings is refused, so `treu` is not read as false."""
    try:
        return FLAGS[text.strip().lower()]
    except KeyError as error:
        raise SettingError(f"{section}.{key}", f"{section}.{key} is {text!r}; write true or false") from error


def _console(values: Mapping[str, str]) -> Console:
    _refuse_unknown("console", values, {f.name for f in dataclasses.fields(Console)})
    return Console(progress=_flag("console", "progress", values.get("progress", "true")))


def _target(values: Mapping[str, str]) -> Target:
    known = {"kind", "kubeconfig", "context", "in_cluster", "namespace_prefix", "state_dir"}
    _refuse_unknown("target", values, known)
    return Target(
        kind=values.get("kind", "local").strip() or "local",
        kubeconfig=Path(values["kubeconfig"]).expanduser() if values.get("kubeconfig") else None,
        context=values.get("context") or None,
        in_cluster=_flag("target", "in_cluster", values.get("in_cluster") or "false"),
        namespace_prefix=values.get("namespace_prefix") or "kfval",
        state_dir=Path(values.get("state_dir") or ".state/cluster"),
    )


def _refuse_unknown(section: str, values: Mapping[str, object], known: set[str]) -> None:
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingError(
            f"{section}.{unknown[0]}",
            f"unknown setting {section}.{unknown[0]}; known keys in [{section}]: {', '.join(sorted(known))}",
        )


def pairs(arguments: Iterable[str]) -> dict[str, str]:
    """`-u section.key=value` arguments as overrides; an argument without `=` is named with the fix."""
    result = {}
    for argument in arguments:
        key, equals, value = argument.partition("=")
        if not equals:
            raise SetupError(
                f"-u {argument!r} has no value; write -u section.key=value (e.g. -u target.kind=kubeconfig)"
            )
        result[key] = value
    return result


def load(ini: Path, *, environ: Mapping[str, str], overrides: Mapping[str, str]) -> Settings:
    """Read `ini`, then apply `KFVAL_*` from `environ`, then `overrides` (radish `-u`).

    A wrong value raises SettingError naming the key, where its value came from and what to write.
    """
    values, origins = _merge(ini, environ, overrides)
    unknown = sorted(set(values) - SECTIONS)
    if unknown:
        raise SetupError(f"unknown settings section [{unknown[0]}] in {ini}; known: {', '.join(sorted(SECTIONS))}")
    try:
        return _settings(values)
    except SettingError as error:
        origin = origins.get(error.key, "the default")
        raise SettingError(error.key, f"{error} ({origin})") from error


def _settings(values: Mapping[str, Mapping[str, str]]) -> Settings:
    timeouts = values.get("timeouts", {})
    _refuse_unknown("timeouts", timeouts, {f.name for f in dataclasses.fields(Timeouts)})
    reports = values.get("reports", {})
    _refuse_unknown("reports", reports, {f.name for f in dataclasses.fields(Reports)})
    notebooks = values.get("notebooks", {})
    _refuse_unknown("notebooks", notebooks, {"profile_namespace", "storage_class"})
    helm = values.get("helm", {})
    _refuse_unknown("helm", helm, {f.name for f in dataclasses.fields(Helm)})
    builder = values.get("builder", {})
    _refuse_unknown("builder", builder, {f.name for f in dataclasses.fields(Builder)})
    run = values.get("run", {})
    _refuse_unknown("run", run, {f.name for f in dataclasses.fields(Run)})
    return Settings(
        target=_target(values.get("target", {})),
        run=Run(**{k: _flag("run", k, v) for k, v in run.items()}),
        timeouts=Timeouts(**{k: _number("timeouts", k, v) for k, v in timeouts.items()}),
        thresholds=MappingProxyType({k: _number("thresholds", k, v) for k, v in values.get("thresholds", {}).items()}),
        images=MappingProxyType(dict(values.get("images", {}))),
        variables=MappingProxyType(dict(values.get("variables", {}))),
        reports=Reports(**{k: Path(v) for k, v in reports.items() if v or k != "history"}),
        notebooks=Notebooks(
            profile_namespace=_flag("notebooks", "profile_namespace", notebooks.get("profile_namespace") or "true"),
            storage_class=notebooks.get("storage_class", "").strip(),
        ),
        helm=_helm(helm),
        builder=_builder(builder),
        console=_console(values.get("console", {})),
    )


def _builder(values: Mapping[str, str]) -> Builder:
    """[builder]: an empty key keeps its default."""
    default = Builder()
    texts = {
        f.name: values.get(f.name, "").strip() or getattr(default, f.name)
        for f in dataclasses.fields(Builder)
        if f.name != "insecure"
    }
    return Builder(**texts, insecure=_flag("builder", "insecure", values.get("insecure") or "false"))


def _helm(values: Mapping[str, str]) -> Helm:
    """[helm]: an empty key keeps its default; `upgrade_values` is a comma-separated list of files."""
    default = Helm()

    def text(key: str, fallback: str) -> str:
        return values.get(key, "").strip() or fallback

    files = values.get("upgrade_values")
    return Helm(
        first_chart=text("first_chart", default.first_chart),
        next_chart=text("next_chart", default.next_chart),
        upgrade_values=default.upgrade_values
        if files is None
        else tuple(Path(f.strip()) for f in files.split(",") if f.strip()),
        resources_key=text("resources_key", default.resources_key),
        image_key=text("image_key", default.image_key),
        instance_label=text("instance_label", default.instance_label),
    )
