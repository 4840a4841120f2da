"""One typed, validated Settings object from radish.ini, `KFVAL_*` variables and radish `-u key=value`.

Precedence: the command line wins over the environment, which wins over radish.ini. Keys are named
`section.key` everywhere (`-u target.kind=kubeconfig`, `KFVAL_TARGET_KIND=kubeconfig`), so one name
works in all three places. A bad value fails at start-up with the key, its source and the fix.
"""

from __future__ import annotations

import configparser
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from kfval.kube.errors import SetupError
from kfval.kubeflow.builds import Builder

RADISH_INI = Path("radish.ini")
TARGET_KINDS = ("local", "kubeconfig")
SECTIONS = frozenset(
    {"target", "run", "timeouts", "thresholds", "images", "variables", "reports", "notebooks", "helm", "builder"}
)
ENV_PREFIX = "KFVAL_"


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
            raise SetupError(f"target.kind is {self.kind!r}; use one of {', '.join(TARGET_KINDS)}")


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

    def __post_init__(self) -> None:
        for name in ("apply", "pod_start", "training", "cleanup", "image_pull", "build", "helm", "failing_upgrade"):
            if getattr(self, name) <= 0:
                raise SetupError(f"timeouts.{name} must be a positive number of seconds")


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


@dataclass(frozen=True)
class Reports:
    cucumber: Path = Path("reports/cucumber.json")
    junit: Path = Path("reports/junit.xml")
    html: Path = Path("reports/report.html")
    history: Path | None = None
    """One summary per run, whose latest ones the HTML page draws as a trend (None: `history/` beside the
    Cucumber report, so a run reporting elsewhere, a test's or the post-upgrade one, keeps its own trend)."""


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

    def threshold(self, name: str) -> float:
        if name not in self.thresholds:
            raise SetupError(f"thresholds.{name} is not set; add it to [thresholds] in radish.ini")
        return self.thresholds[name]

    def image(self, name: str) -> str:
        if name not in self.images:
            raise SetupError(f"images.{name} is not set; add it to [images] in radish.ini")
        return self.images[name]


def _merge(ini: Path, environ: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, dict[str, str]]:
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
    for source, pairs in (("the environment", _from_environ(environ)), ("-u", overrides)):
        for key, value in pairs.items():
            section, dot, name = key.partition(".")
            if not dot or not name:
                raise SetupError(
                    f"setting {key!r} from {source} is not of the form section.key (e.g. target.kind=kubeconfig)"
                )
            if section not in SECTIONS:
                origin = f"{ENV_PREFIX}{key.replace('.', '_', 1).upper()}" if source == "the environment" else key
                raise SetupError(
                    f"{origin} (from {source}) names no settings section; known: {', '.join(sorted(SECTIONS))}"
                )
            values.setdefault(section, {})[name] = value
    return values


def _from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`KFVAL_TARGET_KIND` -> `target.kind`: the first underscore separates the section."""
    result = {}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and "_" in name[len(ENV_PREFIX) :]:
            section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
            result[f"{section}.{key}"] = value
    return result


def _number(section: str, key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError as error:
        raise SetupError(f"{section}.{key} is {text!r}, which is not a number") from error


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def _target(values: Mapping[str, str]) -> Target:
    known = {"kind", "kubeconfig", "context", "in_cluster", "namespace_prefix", "state_dir"}
    _refuse_unknown("target", values, known)
    return Target(
        kind=values.get("kind", "local").strip() or "local",
        kubeconfig=Path(values["kubeconfig"]).expanduser() if values.get("kubeconfig") else None,
        context=values.get("context") or None,
        in_cluster=_flag(values.get("in_cluster", "false")),
        namespace_prefix=values.get("namespace_prefix") or "kfval",
        state_dir=Path(values.get("state_dir") or ".state/cluster"),
    )


def _refuse_unknown(section: str, values: Mapping[str, str], known: set[str]) -> None:
    unknown = sorted(set(values) - known)
    if unknown:
        raise SetupError(
            f"unknown setting {section}.{unknown[0]}; known keys in [{section}]: {', '.join(sorted(known))}"
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
    """Read `ini`, then apply `KFVAL_*` from `environ`, then `overrides` (radish `-u`)."""
    values = _merge(ini, environ, overrides)
    unknown = sorted(set(values) - SECTIONS)
    if unknown:
        raise SetupError(f"unknown settings section [{unknown[0]}] in {ini}; known: {', '.join(sorted(SECTIONS))}")
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
        run=Run(**{k: _flag(v) for k, v in run.items()}),
        timeouts=Timeouts(**{k: _number("timeouts", k, v) for k, v in timeouts.items()}),
        thresholds=MappingProxyType({k: _number("thresholds", k, v) for k, v in values.get("thresholds", {}).items()}),
        images=MappingProxyType(dict(values.get("images", {}))),
        variables=MappingProxyType(dict(values.get("variables", {}))),
        reports=Reports(**{k: Path(v) for k, v in reports.items() if v or k != "history"}),
        notebooks=Notebooks(
            profile_namespace=_flag(notebooks.get("profile_namespace", "true")),
            storage_class=notebooks.get("storage_class", "").strip(),
        ),
        helm=_helm(helm),
        builder=_builder(builder),
    )


def _builder(values: Mapping[str, str]) -> Builder:
    """[builder]: an empty key keeps its default."""
    default = Builder()
    texts = {
        f.name: values.get(f.name, "").strip() or getattr(default, f.name)
        for f in dataclasses.fields(Builder)
        if f.name != "insecure"
    }
    return Builder(**texts, insecure=_flag(values.get("insecure", "false")))


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
