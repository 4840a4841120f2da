"""Preflight's verdicts on a cluster that is not the embedded one, through a fake connection: controllers
found (or not) by their Deployments' labels, the StorageClass of notebook workspaces, an API that does
not answer, and the table a QA engineer reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfval.kube import errors
from kfval.kubeflow import capabilities, preflight

Body = dict[str, Any]
CRDS = {
    "pytorchjobs.kubeflow.org": ["v1"],
    "tfjobs.kubeflow.org": ["v1"],
    "notebooks.kubeflow.org": ["v1beta1"],
    "poddefaults.kubeflow.org": ["v1alpha1"],
}


@dataclass
class FakeCluster:
    """Just what preflight reads: version, CRDs, Deployments by label, StorageClasses, access reviews."""

    deployments: list[Body] = field(default_factory=list)
    storage_classes: list[Body] = field(default_factory=list)
    nodes: list[Body] = field(default_factory=list)
    denied: set[tuple[str, str]] = field(default_factory=set)
    answers: bool = True
    server: str = "https://cluster.example:6443"

    def version(self) -> Body:
        if not self.answers:
            raise errors.ClusterUnreachableError("cannot reach https://cluster.example:6443 (context 'ci')")
        return {"git_version": "v1.31.2-eks-7f9249a"}

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Body:
        if name not in CRDS:
            raise errors.NotFoundError(f"{name} not found", status=404)
        return {"spec": {"versions": [{"name": v, "served": True} for v in CRDS[name]]}}

    def list(self, api_version: str, kind: str, namespace: str | None = None, **selectors: str) -> Body:
        if kind == "StorageClass":
            return {"items": self.storage_classes}
        if kind == "Node":
            return {"items": self.nodes}
        wanted = dict(pair.split("=") for pair in selectors["label_selector"].split(","))
        return {"items": [d for d in self.deployments if wanted.items() <= d["metadata"]["labels"].items()]}

    def create(self, body: Body, namespace: str | None = None) -> Body:
        if "nonResourceAttributes" in body["spec"]:
            return {"status": {"allowed": ("get", body["spec"]["nonResourceAttributes"]["path"]) not in self.denied}}
        attributes = body["spec"]["resourceAttributes"]
        resource = attributes["resource"] + (f"/{attributes['subresource']}" if attributes["subresource"] else "")
        return {"status": {"allowed": (attributes["verb"], resource) not in self.denied}}


def deployment(name: str, labels: dict[str, str], available: int) -> Body:
    return {
        "metadata": {"name": name, "namespace": "kubeflow", "labels": labels},
        "status": {"availableReplicas": available},
    }


def run(cluster: FakeCluster, *features: str, storage_class: str = "") -> preflight.Report:
    return preflight.check(cluster, features, storage_class=storage_class)  # type: ignore[arg-type]


def test_a_controller_is_alive_when_a_deployment_with_its_labels_is_available() -> None:
    operator = deployment("training-operator", {"control-plane": "kubeflow-training-operator"}, 1)
    report = run(FakeCluster(deployments=[operator]), "pytorchjob")
    assert report.ok, report.render()
    assert "Deployment kubeflow/training-operator available" in report.render()


def test_a_controller_without_an_available_deployment_is_missing_with_what_to_install() -> None:
    operator = deployment("training-operator", {"control-plane": "kubeflow-training-operator"}, 0)
    report = run(FakeCluster(deployments=[operator]), "tfjob")
    [finding] = report.missing()
    assert finding.check == "controller the Kubeflow training operator"
    assert "no available Deployment labelled control-plane=kubeflow-training-operator" in finding.detail
    assert "install the Kubeflow training operator" in report.render()
    assert report.render().endswith("preflight: 1 missing")


def test_notebooks_need_a_storage_class_that_does_not_rule_out_read_write_many() -> None:
    controllers = [
        deployment("notebook-controller-deployment", {"app": "notebook-controller"}, 1),
        deployment("admission-webhook-deployment", {"app": "poddefaults"}, 1),
    ]
    single = {"metadata": {"name": "local", "annotations": {preflight.DEFAULT_CLASS_ANNOTATION: "true"}}}
    report = run(FakeCluster(deployments=controllers, storage_classes=[single]), "notebooks")
    assert report.ok, report.render()
    rwo = {"metadata": {"name": "fast"}, "parameters": {"accessModes": "ReadWriteOnce"}}
    report = run(FakeCluster(deployments=controllers, storage_classes=[rwo]), "notebooks", storage_class="fast")
    assert [f.detail for f in report.missing()] == ['StorageClass "fast" provisions only ReadWriteOnce']
    report = run(FakeCluster(deployments=controllers), "notebooks", storage_class="shared")
    assert [f.detail for f in report.missing()] == ['no StorageClass "shared"']


def test_a_denied_verb_is_named_with_its_resource() -> None:
    operator = deployment("training-operator", {"control-plane": "kubeflow-training-operator"}, 1)
    report = run(FakeCluster(deployments=[operator], denied={("get", "pods/log")}), "pytorchjob")
    assert [(f.check, f.detail) for f in report.missing()] == [("may pods/log", "get denied (cluster-wide)")]


def test_a_denied_discovery_path_is_named() -> None:
    operator = deployment("training-operator", {"control-plane": "kubeflow-training-operator"}, 1)
    report = run(FakeCluster(deployments=[operator], denied={("get", "/openapi/v3")}), "pytorchjob")
    assert [(f.check, f.detail) for f in report.missing()] == [("may read discovery", "get /openapi/v3 denied")]


def test_an_api_that_does_not_answer_is_the_only_finding() -> None:
    report = run(FakeCluster(answers=False), "pytorchjob")
    assert [f.check for f in report.findings] == ["API server"]
    assert not report.ok and "cannot reach https://cluster.example:6443" in report.render()


def test_preflight_checks_every_custom_resource_at_the_version_the_manifests_use() -> None:
    root = Path(__file__).resolve().parents[2]
    used = {
        (document["apiVersion"], document["kind"])
        for path in (root / "manifests").glob("*.yaml")
        for document in yaml.safe_load_all(path.read_text().replace("${", "_{"))
        if document and "." in document["apiVersion"].split("/")[0]
    }
    checked = {(f"{crd.group}/{crd.version}", crd.kind) for needs in capabilities.NEEDS.values() for crd in needs.crds}
    assert used and used <= checked, f"manifests use custom resources preflight does not check: {used - checked}"


def test_what_a_feature_or_capability_lacks_blocks_only_the_scenarios_tagged_with_it() -> None:
    rwo = {"metadata": {"name": "fast"}, "parameters": {"accessModes": "ReadWriteOnce"}}
    report = preflight.check(
        FakeCluster(storage_classes=[rwo]),  # type: ignore[arg-type]
        ("pytorchjob", "builder"),
        storage_class="fast",
        registry="",
    )
    assert report.missing_for_the_run() == ()
    assert [f.check for f in report.blocking({"pytorchjob", "training"})] == [
        "controller the Kubeflow training operator"
    ]
    assert [f.check for f in report.blocking({"builder", "needs-rwx", "needs-registry"})] == [
        "ReadWriteMany storage",
        "image registry",
    ]
    assert report.blocking({"tfjob"}) == ()
    [registry] = report.blocking({"needs-registry"})
    assert registry.explain() == (
        "image registry: no registry to push built images to (fix: set [builder] registry (and its credentials) "
        "in radish.ini to a registry the cluster pulls from)"
    )


def test_a_denied_permission_blocks_the_whole_run() -> None:
    operator = deployment("training-operator", {"control-plane": "kubeflow-training-operator"}, 1)
    report = run(FakeCluster(deployments=[operator], denied={("get", "pods/log")}), "pytorchjob")
    assert [f.check for f in report.missing_for_the_run()] == ["may pods/log"]


def test_a_configured_registry_is_found() -> None:
    report = preflight.check(FakeCluster(), ("builder",), storage_class="", registry="registry.example.com/ci")  # type: ignore[arg-type]
    assert [(f.check, f.ok, f.detail) for f in report.findings if f.check == "image registry"] == [
        ("image registry", True, "built images go to registry.example.com/ci")
    ]


def test_an_image_is_held_by_a_node_or_pulled_at_first_use_and_a_bad_reference_is_missing() -> None:
    operator = deployment("training-operator", {"control-plane": "kubeflow-training-operator"}, 1)
    node = {"metadata": {"name": "gpu-1"}, "status": {"images": [{"names": ["docker.io/team/trainer:1.0"]}]}}
    cluster = FakeCluster(deployments=[operator], nodes=[node])
    images = {"pytorch_mnist": "team/trainer:1.0", "tf_mnist": "registry.example.com/team/tf:2"}
    report = preflight.check(cluster, ("pytorchjob", "tfjob"), storage_class="", images=images)  # type: ignore[arg-type]
    found = {f.check: (f.ok, f.detail) for f in report.findings if f.check.startswith("image ")}
    assert found == {
        "image pytorch_mnist": (True, "team/trainer:1.0 is held by node gpu-1"),
        "image tf_mnist": (
            True,
            "registry.example.com/team/tf:2 is on no node yet: pulled at first use "
            "(no API says whether its registry has it)",
        ),
    }
    report = preflight.check(cluster, ("tfjob",), storage_class="", images={"tf_mnist": "Team/TF latest"})  # type: ignore[arg-type]
    [bad] = report.missing()
    assert (bad.check, bad.detail, bad.needed_by) == (
        "image tf_mnist",
        "'Team/TF latest' is not an image reference",
        ("tfjob",),
    )
    assert report.missing_for_the_run() == ()


@pytest.mark.parametrize(
    ("reference", "listed"),
    [
        ("busybox", "busybox:latest"),
        ("docker.io/library/python:3.11", "python:3.11"),
        ("kfval/runner", "kfval/runner:latest"),
    ],
)
def test_references_are_compared_as_nodes_list_them(reference: str, listed: str) -> None:
    assert preflight.normalized_image(reference) == listed
