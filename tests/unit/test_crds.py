"""The shipped CRDs: they load, the catalog serves them, and they declare what Kubeflow 1.10 installs.

Training operator v1.9.2 (PyTorchJob, TFJob), the notebook controller's Notebook with its
validation patches, the PodDefault webhook's PodDefault, and Istio's VirtualService. The last tests
hold every manifest the suite sends and Kubeflow's own examples against the schemas: each is valid
(JSON-Schema reading of the OpenAPI v3 schema) and loses no field to pruning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kfval.embedded.admission.chain import Admission
from kfval.embedded.clock import SystemClock
from kfval.embedded.errors import InvalidError
from kfval.embedded.store.catalog import Catalog, types_of_crd
from kfval.embedded.store.objects import Store
from kfval.embedded.types import PrinterColumn, ResourceType
from kfval.kube import manifests

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "fixtures" / "kubeflow-examples"
SUITE_VARIABLES = {
    "workers": "2",
    "ps": "1",
    "epochs": "1",
    "learning_rate": "0.01",
    "momentum": "0.5",
    "clean_pod_policy": "None",
    "train_steps": "10",
    "tf_epochs": "1",
    "cpu": "500m",
    "memory": "1Gi",
}
"""Values for the manifests' variables that must be numbers or one of a few words; any other is a name."""
VARIABLE = re.compile(r"\$\{([a-z_]+)\}")
STORAGE = {
    "pytorchjobs.kubeflow.org": ("v1", ["v1"]),
    "tfjobs.kubeflow.org": ("v1", ["v1"]),
    "notebooks.kubeflow.org": ("v1", ["v1", "v1alpha1", "v1beta1"]),
    "poddefaults.kubeflow.org": ("v1alpha1", ["v1alpha1"]),
    "virtualservices.networking.istio.io": ("v1", ["v1", "v1alpha3", "v1beta1"]),
}
"""Each CRD's storage version and every version it serves."""
STATE_AND_AGE = (
    PrinterColumn(name="State", type="string", json_path=".status.conditions[-1:].type"),
    PrinterColumn(name="Age", type="date", json_path=".metadata.creationTimestamp"),
)
QUEUE_RULE = [{"message": "spec.runPolicy.schedulingPolicy.queue is immutable", "rule": "self == oldSelf"}]


def _crd(name: str) -> dict[str, Any]:
    text = resources.files("kfval.embedded").joinpath("crds", f"{name}.yaml").read_text()
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def _types(name: str) -> dict[str, ResourceType]:
    return {rt.version: rt for rt in types_of_crd(_crd(name))}


def _schema(name: str, version: str) -> dict[str, Any]:
    schema = _types(name)[version].schema
    assert schema is not None
    return dict(schema)


def test_the_crds_shipped_are_the_ones_described_here() -> None:
    shipped = {p.name for p in resources.files("kfval.embedded").joinpath("crds").iterdir()}
    assert shipped == {f"{name}.yaml" for name in STORAGE}


@pytest.mark.parametrize("name", sorted(STORAGE))
def test_each_crd_serves_its_versions_and_stores_one(name: str) -> None:
    crd = _crd(name)
    assert (crd["apiVersion"], crd["kind"]) == ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.{crd['spec']['group']}" == name
    assert crd["spec"]["scope"] == "Namespaced"
    storage, served = STORAGE[name]
    assert [v["name"] for v in crd["spec"]["versions"] if v["storage"]] == [storage]
    assert [v["name"] for v in crd["spec"]["versions"] if v["served"]] == served
    for rt in types_of_crd(crd):
        assert rt.namespaced and rt.schema is not None and rt.schema["type"] == "object"


@pytest.mark.parametrize(("name", "spec_field"), [("pytorchjobs", "pytorchReplicaSpecs"), ("tfjobs", "tfReplicaSpecs")])
def test_the_training_jobs_are_the_v1_9_api(name: str, spec_field: str) -> None:
    rt = _types(f"{name}.kubeflow.org")["v1"]
    assert rt.printer_columns == STATE_AND_AGE
    assert rt.short_names == () and rt.categories == ()
    spec = _schema(f"{name}.kubeflow.org", "v1")["properties"]["spec"]
    assert spec["required"] == [spec_field]
    run_policy = spec["properties"]["runPolicy"]["properties"]
    assert run_policy["managedBy"]["type"] == "string"
    assert run_policy["suspend"] == {**run_policy["suspend"], "default": False, "type": "boolean"}
    assert run_policy["schedulingPolicy"]["properties"]["queue"]["x-kubernetes-validations"] == QUEUE_RULE
    template = spec["properties"][spec_field]["additionalProperties"]["properties"]["template"]["properties"]
    assert sorted(template["metadata"]["properties"]) == ["annotations", "finalizers", "labels", "name", "namespace"]
    assert template["spec"]["required"] == ["containers"]


def test_the_pytorchjob_scales_its_workers_and_the_tfjob_does_not_scale() -> None:
    assert _types("pytorchjobs.kubeflow.org")["v1"].subresources == frozenset({"status", "scale"})
    assert _types("tfjobs.kubeflow.org")["v1"].subresources == frozenset({"status"})
    scale = _crd("pytorchjobs.kubeflow.org")["spec"]["versions"][0]["subresources"]["scale"]
    assert scale == {
        "specReplicasPath": ".spec.pytorchReplicaSpecs.Worker.replicas",
        "statusReplicasPath": ".status.replicaStatuses.Worker.active",
        "labelSelectorPath": ".status.replicaStatuses.Worker.selector",
    }
    pytorch = _schema("pytorchjobs.kubeflow.org", "v1")["properties"]["spec"]["properties"]
    assert {"elasticPolicy", "nprocPerNode"} <= set(pytorch)
    tf = _schema("tfjobs.kubeflow.org", "v1")["properties"]["spec"]["properties"]
    assert {"successPolicy", "enableDynamicWorker"} <= set(tf)


@pytest.mark.parametrize("version", ["v1", "v1alpha1", "v1beta1"])
def test_every_notebook_version_carries_the_validation_patches(version: str) -> None:
    rt = _types("notebooks.kubeflow.org")[version]
    assert rt.kind == "Notebook" and rt.subresources == frozenset({"status"}) and rt.printer_columns == ()
    schema = _schema("notebooks.kubeflow.org", version)
    containers = schema["properties"]["spec"]["properties"]["template"]["properties"]["spec"]["properties"]
    assert containers["containers"]["minItems"] == 1
    assert containers["containers"]["items"]["required"] == ["name", "image"]
    assert schema["properties"]["status"]["required"] == ["conditions", "containerState", "readyReplicas"]
    assert _crd("notebooks.kubeflow.org")["spec"]["conversion"] == {"strategy": "None"}


def test_a_poddefault_needs_a_selector() -> None:
    rt = _types("poddefaults.kubeflow.org")["v1alpha1"]
    assert (rt.kind, rt.resource, rt.subresources) == ("PodDefault", "poddefaults", frozenset({"status"}))
    spec = _schema("poddefaults.kubeflow.org", "v1alpha1")["properties"]["spec"]
    assert spec["required"] == ["selector"]
    assert set(spec["properties"]) == {
        "annotations", "args", "automountServiceAccountToken", "command", "desc", "env", "envFrom",
        "imagePullSecrets", "initContainers", "labels", "selector", "serviceAccountName", "sidecars",
        "tolerations", "volumeMounts", "volumes",
    }  # fmt: skip


@pytest.mark.parametrize("version", ["v1", "v1alpha3", "v1beta1"])
def test_the_virtualservice_is_istios(version: str) -> None:
    rt = _types("virtualservices.networking.istio.io")[version]
    assert (rt.group, rt.kind, rt.resource) == ("networking.istio.io", "VirtualService", "virtualservices")
    assert rt.short_names == ("vs",) and rt.categories == ("istio-io", "networking-istio-io")
    assert [(c.name, c.json_path) for c in rt.printer_columns] == [
        ("Gateways", ".spec.gateways"),
        ("Hosts", ".spec.hosts"),
        ("Age", ".metadata.creationTimestamp"),
    ]
    assert rt.subresources == frozenset({"status"})


def test_stored_crd_registers_its_kinds_and_admission_applies_schema_defaults() -> None:
    catalog = Catalog()
    store = Store(catalog, SystemClock())
    store.register_catalog_hook()
    store.create(
        catalog.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions"), _crd("pytorchjobs.kubeflow.org")
    )
    rt = catalog.lookup("kubeflow.org", "v1", "pytorchjobs")
    container = {"name": "pytorch", "image": "busybox", "ports": [{"name": "p", "containerPort": 1}]}
    body = {
        "metadata": {"name": "mnist"},
        "spec": {
            "runPolicy": {"cleanPodPolicy": "None"},
            "pytorchReplicaSpecs": {"Master": {"replicas": 1, "template": {"spec": {"containers": [container]}}}},
        },
    }
    admitted = Admission().admit(rt, body, operation="CREATE", old=None, namespace="team")
    assert admitted["spec"]["runPolicy"] == {"cleanPodPolicy": "None", "suspend": False}
    (port,) = admitted["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["ports"]
    assert port == {"name": "p", "containerPort": 1, "protocol": "TCP"}


def _documents() -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every custom object the suite's manifests (variables filled in) and the examples hold."""
    groups = {_crd(name)["spec"]["group"] for name in STORAGE}
    bodies: list[tuple[str, Mapping[str, Any]]] = []
    for path in sorted((ROOT / "manifests").glob("*.yaml")):
        text = path.read_text()
        variables = {name: SUITE_VARIABLES.get(name, name.replace("_", "-")) for name in VARIABLE.findall(text)}
        bodies += [(path.name, d.body) for d in manifests.render_text(text, variables, source=path.name)]
    bodies += [(path.name, yaml.safe_load(path.read_text())) for path in sorted(EXAMPLES.glob("*.yaml"))]
    for source, body in bodies:
        if str(body["apiVersion"]).rpartition("/")[0] in groups:
            yield source, body


DOCUMENTS = list(_documents())


def _schema_for(body: Mapping[str, Any]) -> dict[str, Any]:
    group, _, version = str(body["apiVersion"]).rpartition("/")
    for name in STORAGE:
        for rt in types_of_crd(_crd(name)):
            if (rt.group, rt.version, rt.kind) == (group, version, body["kind"]):
                assert rt.schema is not None
                return dict(rt.schema)
    raise AssertionError(f"no CRD serves {body['apiVersion']} {body['kind']}")


def pruned(value: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """The paths the API server's pruning would drop from `value` under a structural `schema`."""
    if isinstance(value, list):
        items = schema.get("items") or {}
        return [p for i, item in enumerate(value) for p in pruned(item, items, f"{path}[{i}]")]
    if not isinstance(value, Mapping) or schema.get("x-kubernetes-int-or-string"):
        return []
    properties, extra = schema.get("properties") or {}, schema.get("additionalProperties")
    keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
    dropped = []
    for key, item in value.items():
        sub = properties.get(key) if key in properties else extra if isinstance(extra, Mapping) else None
        if sub is None:
            dropped += [] if keep_unknown else [f"{path}.{key}"]
        else:
            dropped += pruned(item, sub, f"{path}.{key}")
    return dropped


def test_the_suite_manifests_and_kubeflows_examples_are_all_checked() -> None:
    kinds = {(body["apiVersion"], body["kind"]) for _, body in DOCUMENTS}
    assert kinds == {
        ("kubeflow.org/v1", "PyTorchJob"),
        ("kubeflow.org/v1", "TFJob"),
        ("kubeflow.org/v1beta1", "Notebook"),
        ("kubeflow.org/v1alpha1", "PodDefault"),
        ("networking.istio.io/v1alpha3", "VirtualService"),
    }


@pytest.mark.parametrize(("source", "body"), DOCUMENTS, ids=[f"{s}:{b['metadata']['name']}" for s, b in DOCUMENTS])
def test_each_manifest_is_valid_and_loses_nothing_to_pruning(source: str, body: Mapping[str, Any]) -> None:
    schema = _schema_for(body)
    jsonschema.Draft4Validator(schema).validate(body)
    assert pruned({k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata")}, schema) == []


def test_the_pruning_check_sees_an_undeclared_field() -> None:
    schema = _schema("pytorchjobs.kubeflow.org", "v1")
    assert pruned({"spec": {"runPolicy": {"suspended": True}}}, schema) == [".spec.runPolicy.suspended"]
    assert pruned({"spec": {"pytorchReplicaSpecs": {"Worker": {"template": {"spec": {"x": 1}}}}}}, schema) == []


def _admit(name: str, version: str, body: dict[str, Any], *, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """`body` through the admission chain of a store that serves the CRD, as a create or an update of `old`."""
    store = Store(Catalog(), SystemClock())
    store.register_catalog_hook()
    store.create(store.catalog.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions"), _crd(name))
    group = _crd(name)["spec"]["group"]
    rt = store.catalog.lookup(group, version, _crd(name)["spec"]["names"]["plural"])
    operation = "CREATE" if old is None else "UPDATE"
    return Admission().admit(rt, body, operation=operation, old=old, namespace=body["metadata"].get("namespace"))


def _refusal(name: str, version: str, body: dict[str, Any], *, old: dict[str, Any] | None = None) -> str:
    with pytest.raises(InvalidError) as refused:
        _admit(name, version, body, old=old)
    return refused.value.message


def test_the_queue_of_a_training_job_cannot_change() -> None:
    job = yaml.safe_load((EXAMPLES / "pytorch-simple.yaml").read_text())
    job["spec"]["runPolicy"] = {"schedulingPolicy": {"queue": "first"}}
    stored = _admit("pytorchjobs.kubeflow.org", "v1", job)
    same = _admit("pytorchjobs.kubeflow.org", "v1", stored, old=stored)
    assert same["spec"]["runPolicy"]["schedulingPolicy"] == {"queue": "first"}
    moved = {**stored, "spec": {**stored["spec"], "runPolicy": {"schedulingPolicy": {"queue": "second"}}}}
    assert _refusal("pytorchjobs.kubeflow.org", "v1", moved, old=stored) == (
        'PyTorchJob.kubeflow.org "pytorch-simple" is invalid: spec.runPolicy.schedulingPolicy.queue: '
        'Invalid value: "string": spec.runPolicy.schedulingPolicy.queue is immutable'
    )


@pytest.mark.parametrize(
    ("containers", "expected"),
    [
        ([{"name": "nb"}], "spec.template.spec.containers[0].image: Required value"),
        ([], "spec.template.spec.containers: Invalid value: 0: spec.template.spec.containers in body should have"),
    ],
)
def test_a_notebook_needs_a_named_container_with_an_image(containers: list[Any], expected: str) -> None:
    notebook = yaml.safe_load((EXAMPLES / "notebook-jupyter-web-app.yaml").read_text())
    notebook["spec"]["template"]["spec"]["containers"] = containers
    assert expected in _refusal("notebooks.kubeflow.org", "v1beta1", notebook)


def test_a_poddefault_without_a_selector_is_refused() -> None:
    poddefault = yaml.safe_load((EXAMPLES / "poddefault-gcp-secret.yaml").read_text())
    del poddefault["spec"]["selector"]
    assert _refusal("poddefaults.kubeflow.org", "v1alpha1", poddefault).endswith("spec.selector: Required value")
