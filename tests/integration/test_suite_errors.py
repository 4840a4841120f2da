"""Bad input to the suite, one row each: a non-zero exit, a message that names the mistake, no Python
traceback, and nothing of the run left in the cluster.

Every row runs `kfval run` against the session's embedded cluster (a `kubeconfig` target). A mistake
that can be seen without a cluster (a setting, Gherkin, a tag expression, a manifest that does not
parse) must stop the run before it connects; the others (kubeconfig, credentials, rights, a kind the
cluster does not serve, a variable, an image) fail the scenario with the message in the report.
The table "input -> first line of the message" is written to reports/bad-inputs.md for the record.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from kfval.embedded import launch
from tests.support.kubectl import Kubectl
from tests.support.suites import kfval_argv, run_kfval

pytestmark = pytest.mark.integration
FIXTURES = "tests/fixtures/suite"
NAMESPACE = f"{FIXTURES}/namespace.feature"
TABLE = Path("reports/bad-inputs.md")
MANAGED = "app.kubernetes.io/managed-by=kfval"


@dataclass(frozen=True)
class BadInput:
    """One mistake a user can make, and the words the suite must answer it with."""

    name: str
    says: tuple[str, ...]
    """Key phrases of the message: each must appear in what the user reads."""
    features: tuple[str, ...] = (NAMESPACE,)
    overrides: tuple[str, ...] = ()
    tags: str | None = None
    environ: dict[str, str] = field(default_factory=dict)
    identity: str = "admin"
    """Whose kubeconfig the run uses: see `kubeconfig_for`."""
    in_scenario: bool = False
    """Only the cluster can tell: the run starts and its scenario fails with the message. Otherwise the
    run must stop before it connects, so it writes no report and prints no run id."""


def setting(pair: str, *says: str) -> BadInput:
    return BadInput(pair, says, overrides=(pair,))


ROWS = (
    setting("thresholds.pytorch_min_accuracy=96.62", "thresholds.pytorch_min_accuracy is 96.62", "0.9662"),
    setting("thresholds.tf_max_cross_entropy=0", "a cross entropy is a number greater than 0"),
    setting("thresholds.tf_min_accuracy=-0.1", "an accuracy is a fraction from 0 to 1"),
    setting("target.namespace_prefix=QA_Team", "target.namespace_prefix is 'QA_Team'", "write e.g. 'qa-team'"),
    setting("timeouts.training=0", "timeouts.training is 0; a timeout is a positive number of seconds"),
    setting("timeouts.pod_start=soon", "timeouts.pod_start is 'soon', which is not a number"),
    setting("target.kind=remote", "target.kind is 'remote'; use one of local, kubeconfig"),
    setting("target.kubconfig=x", "unknown setting target.kubconfig; known keys in [target]"),
    setting("notebooks.profile_namespace=maybe", "notebooks.profile_namespace is 'maybe'; write true or false"),
    setting("reports.cucumber=radish.ini/cucumber.json", "reports.cucumber is", "radish.ini is a file, not a folder"),
    BadInput(
        "KFVAL_TIMEOUTS_CLEANUP=abc",
        ("timeouts.cleanup is 'abc', which is not a number", "from KFVAL_TIMEOUTS_CLEANUP in the environment"),
        environ={"KFVAL_TIMEOUTS_CLEANUP": "abc"},
    ),
    setting(
        "target.kubeconfig=/nowhere/kubeconfig", "target.kubeconfig is '/nowhere/kubeconfig', which does not exist"
    ),
    BadInput(
        "kubeconfig that is not YAML",
        ("cannot load kubeconfig", "expected ',' or ']'", "point target.kubeconfig at a file kubectl can use"),
        identity="not-yaml",
        in_scenario=True,
    ),
    BadInput(
        "target.context=nowhere",
        ("cannot load kubeconfig", "Expected object with name nowhere", "target.context at one of its contexts"),
        overrides=("target.context=nowhere",),
        in_scenario=True,
    ),
    BadInput(
        "server nobody answers at",
        ("cannot reach the API server https://127.0.0.1:1", "target.kubeconfig"),
        identity="unreachable",
        in_scenario=True,
    ),
    BadInput(
        "token the cluster does not know",
        ("refused the credentials (401 Unauthorized)",),
        identity="bad-token",
        in_scenario=True,
    ),
    BadInput(
        "kubeconfig without credentials",
        ("refused the credentials (401 Unauthorized)",),
        identity="anonymous",
        in_scenario=True,
    ),
    BadInput(
        "service account without rights (preflight)",
        ("the cluster lacks what the selected features need", "MISSING  may namespaces", "kfval rbac"),
        identity="no-rights",
        in_scenario=True,
    ),
    BadInput(
        "service account without rights (preflight off)",
        ("forbids create on Namespace", 'cannot create resource "namespaces"'),
        overrides=("run.preflight=false",),
        identity="no-rights",
        in_scenario=True,
    ),
    BadInput(
        "service account that may only manage namespaces (preflight off)",
        ('forbids apply on ConfigMap "settings"', 'cannot patch resource "configmaps"'),
        features=(f"{FIXTURES}/configmap.feature",),
        overrides=("run.preflight=false", "run.strict_permissions=false"),
        identity="namespaces-only",
        in_scenario=True,
    ),
    BadInput(
        "Gherkin: a tag where a step belongs",
        ("gherkin/misplaced-tag.feature:4: The parser expected a scenario or a tag on this line",),
        features=(f"{FIXTURES}/gherkin/misplaced-tag.feature",),
    ),
    BadInput(
        "Gherkin: Scenaro",
        ("misspelt-scenario.feature:1: the feature has no scenario", "line 2 reads 'Scenaro: A namespace'"),
        features=(f"{FIXTURES}/gherkin/misspelt-scenario.feature",),
    ),
    BadInput(
        "Gherkin: Scenario Outline without Examples",
        ('outline-without-examples.feature:2: Scenario Outline "A namespace for <who>" has no Examples rows',),
        features=(f"{FIXTURES}/gherkin/outline-without-examples.feature",),
    ),
    BadInput(
        "Gherkin: doc string never closed",
        ('unclosed-doc-string.feature:4: this doc string (""") is never closed',),
        features=(f"{FIXTURES}/gherkin/unclosed-doc-string.feature",),
    ),
    BadInput(
        "Gherkin: feature file that does not exist",
        (f"{FIXTURES}/nowhere.feature does not exist",),
        features=(f"{FIXTURES}/nowhere.feature",),
    ),
    BadInput(
        "undefined step",
        (
            'undefined-step.feature:3: "Given a fresh namespce for the scenario" matches no step',
            'closest: "Given a fresh namespace for the scenario"',
        ),
        features=(f"{FIXTURES}/gherkin/undefined-step.feature",),
    ),
    BadInput(
        "-t 'quick and and'",
        ("the tag expression 'quick and and' is not valid: word 3 ('and') needs a tag before it",),
        tags="quick and and",
    ),
    BadInput("-t '@quick'", ("tags are written without @ in a tag expression; write 'quick'",), tags="@quick"),
    BadInput("-t quik", ("names the tag 'quik', which no scenario", "did you mean 'quick'?"), tags="quik"),
    BadInput("-t 'quick and not quick'", ("selects no scenario",), tags="quick and not quick"),
    BadInput(
        "manifest that is not YAML",
        ("manifests/malformed.yaml:7: the YAML cannot be parsed",),
        features=(f"{FIXTURES}/malformed.feature",),
    ),
    BadInput(
        "manifest with only empty documents",
        ("manifests/empty.yaml: no objects passed to apply",),
        features=(f"{FIXTURES}/empty-manifest.feature",),
    ),
    BadInput(
        "manifest that does not exist",
        ("manifest tests/fixtures/suite/manifests/nowhere.yaml does not exist: name a file of manifests/",),
        features=(f"{FIXTURES}/missing-manifest.feature",),
    ),
    BadInput(
        "kind the cluster does not serve",
        ("MPIJob (kubeflow.org/v1) is not served by this cluster: is the Kubeflow training operator installed?",),
        features=(f"{FIXTURES}/missing-kind.feature",),
        in_scenario=True,
    ),
    BadInput(
        "undefined template variable",
        ("manifests/missing-variable.yaml:4: variable ${config_name} is not defined",),
        features=(f"{FIXTURES}/missing-variable.feature",),
        in_scenario=True,
    ),
    setting(
        "images.pytorch_mnist=Registry.example/KFVAL:1", "is not an image reference: repository names are lowercase"
    ),
    setting("builder.executor_image=gcr.io/kaniko:v1:2", "builder.executor_image is 'gcr.io/kaniko:v1:2'"),
    setting("helm.first_chart=./charts/kubeflow", "helm.first_chart is './charts/kubeflow', which does not exist"),
    BadInput(
        "image nobody can pull",
        ("cannot start", "registry.invalid/kfval/nope:1"),
        features=(f"{FIXTURES}/image.feature",),
        overrides=("images.pytorch_mnist=registry.invalid/kfval/nope:1", "timeouts.image_pull=3"),
        in_scenario=True,
    ),
)


@pytest.fixture(scope="module")
def table() -> Iterator[list[tuple[str, str]]]:
    rows: list[tuple[str, str]] = []
    yield rows
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    lines = ["| bad input | first line of the message |", "|---|---|"]
    lines += [f"| `{name}` | {message.replace('|', '/')} |" for name, message in rows]
    TABLE.write_text("\n".join(lines) + "\n")


def kubeconfig_for(
    identity: str, cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path, request: pytest.FixtureRequest
) -> Path:
    """A kubeconfig for the cluster as `identity` (a service account's is made here and removed after the test)."""
    if identity == "admin":
        return cluster.kubeconfig
    path = tmp_path / f"{identity}.kubeconfig"
    if identity == "not-yaml":
        path.write_text("clusters: [unclosed\n")
        return path
    document = yaml.safe_load(cluster.kubeconfig.read_text())
    if identity == "unreachable":
        document["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    elif identity == "bad-token":
        document["users"][0]["user"] = {"token": "not-the-token"}
    elif identity == "anonymous":
        document["users"][0]["user"] = {}
    else:
        document["users"][0]["user"] = {"token": service_account_token(identity, kubectl, request)}
    path.write_text(yaml.safe_dump(document))
    return path


def service_account_token(identity: str, kubectl: Kubectl, request: pytest.FixtureRequest) -> str:
    """The token of a service account `qa` in a namespace of its own; `namespaces-only` may manage namespaces."""
    namespace = f"t-{identity}-{uuid.uuid4().hex[:6]}"
    kubectl.run("create", "namespace", namespace)
    request.addfinalizer(lambda: kubectl.run("delete", "namespace", namespace, "--wait=false", check=False))
    kubectl.run("create", "serviceaccount", "qa", "-n", namespace)
    if identity == "namespaces-only":
        kubectl.run("create", "--validate=false", "-f", "-", stdin=json.dumps(namespace_manager(namespace)))
        for kind in ("clusterrolebinding", "clusterrole"):
            request.addfinalizer(lambda kind=kind: kubectl.run("delete", kind, namespace, check=False))
    return kubectl.run("create", "token", "qa", "-n", namespace).stdout.strip()


def namespace_manager(name: str) -> dict[str, object]:
    """A ClusterRole `name` that may do anything to namespaces and nothing else, bound to the service account
    qa of the namespace `name` (as JSON: the cluster decodes RBAC kinds only from JSON, not protobuf)."""
    rbac = "rbac.authorization.k8s.io"
    role = {"apiVersion": f"{rbac}/v1", "kind": "ClusterRole", "metadata": {"name": name}}
    rules = [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["*"]}]
    binding = {"apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name}}
    links = {
        "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": "qa", "namespace": name}],
    }
    return {"apiVersion": "v1", "kind": "List", "items": [{**role, "rules": rules}, {**binding, **links}]}


def kfval_namespaces(kubectl: Kubectl, selector: str) -> set[str]:
    return set(kubectl.run("get", "namespaces", "-l", selector, "-o", "name").stdout.split())


@pytest.mark.parametrize("bad", ROWS, ids=[row.name for row in ROWS])
def test_a_bad_input_is_named_and_leaves_nothing(
    bad: BadInput,
    cluster: launch.ClusterInfo,
    *,
    kubectl: Kubectl,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    table: list[tuple[str, str]],
) -> None:
    kubeconfig = kubeconfig_for(bad.identity, cluster, kubectl, tmp_path, request)
    before = kfval_namespaces(kubectl, MANAGED)
    argv = kfval_argv(list(bad.features), kubeconfig, tmp_path, *bad.overrides, tags=bad.tags)
    run = run_kfval(argv, tmp_path, env={**os.environ, **bad.environ})
    table.append((bad.name, run.first_message_line()))

    assert run.returncode != 0, run.text
    for phrase in bad.says:
        assert phrase in run.text, f"{phrase!r} is not in what the user reads:\n{run.text}"
    assert "Traceback" not in run.text, run.text
    if bad.in_scenario:
        assert run.reported, f"the report has no failed step:\n{run.text}"
    else:
        assert run.run_id is None and not (tmp_path / "cucumber.json").exists(), f"the run started:\n{run.text}"
    assert kfval_namespaces(kubectl, MANAGED) - before == set(), "the run left namespaces"
    if run.run_id is not None:
        assert kfval_namespaces(kubectl, f"kfval.dev/run-id={run.run_id}") == set()
