"""The training operator's v1.9 webhook rules for PyTorchJob and TFJob, through the real admission chain."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kfval.embedded import warning
from kfval.embedded.admission import training
from kfval.embedded.admission.chain import Admission
from kfval.embedded.clock import SystemClock
from kfval.embedded.errors import ForbiddenError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ResourceType
from tests.support.cluster import register_crds

SPECS = "spec.pytorchReplicaSpecs"


def valid() -> Body:
    container = {"name": "pytorch", "image": "kubeflow/pytorch-dist-mnist:latest", "args": ["--backend", "gloo"]}
    replica = {"template": {"spec": {"containers": [container]}}}
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "pytorch-simple", "namespace": "demo"},
        "spec": {"pytorchReplicaSpecs": {"Master": {"replicas": 1, **replica}, "Worker": copy.deepcopy(replica)}},
    }


def messages(job: Body) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in training.review_pytorchjob(job).causes]


@pytest.fixture
def pytorchjobs() -> ResourceType:
    store = Store(Catalog(), SystemClock())
    store.register_catalog_hook()
    register_crds(store)
    return store.catalog.lookup("kubeflow.org", "v1", "pytorchjobs")


def test_the_kubeflow_example_is_valid() -> None:
    assert messages(valid()) == []


def test_a_container_named_pytorch_is_required() -> None:
    job = valid()
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["name"] = "main"
    assert messages(job) == [
        (
            f"{SPECS}[Worker].template.spec.containers",
            "Required value: must have at least one container with name pytorch",
        )
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda j: j["metadata"].update(name="1job"), ("metadata.name", 'Invalid value: "1job": should match: ')),
        (lambda j: j["spec"].pop("pytorchReplicaSpecs"), (SPECS, "Required value: must be required")),
        (
            lambda j: j["spec"]["pytorchReplicaSpecs"].update(worker=j["spec"]["pytorchReplicaSpecs"].pop("Worker")),
            (f"{SPECS}[worker]", 'Unsupported value: "worker": supported values: "Master", "Worker"'),
        ),
        (
            lambda j: j["spec"]["pytorchReplicaSpecs"]["Master"].update(replicas=2),
            (f"{SPECS}[Master].replicas", "Forbidden: must be 1"),
        ),
        (
            lambda j: j["spec"]["pytorchReplicaSpecs"]["Master"].pop("replicas"),
            (f"{SPECS}[Master].replicas", "Forbidden: must be 1"),
        ),
        (
            lambda j: j["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0].pop("image"),
            (f"{SPECS}[Worker].template.spec.containers[0].image", "Required value: must be required"),
        ),
        (
            lambda j: j["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"].update(containers=[]),
            (f"{SPECS}[Worker].template.spec.containers", "Required value: must be specified"),
        ),
    ],
)
def test_each_rule_names_its_field(change: Any, expected: tuple[str, str]) -> None:
    job = valid()
    change(job)
    found = messages(job)
    assert any(f == expected[0] and m.startswith(expected[1]) for f, m in found), found


def test_the_refusal_is_the_403_the_api_server_relays_for_a_webhook_denial(pytorchjobs: ResourceType) -> None:
    job = valid()
    job["metadata"]["name"] = "bad"
    job["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = 3
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["name"] = "main"
    admission = Admission(validators=[training.TrainingJobValidator()])
    with pytest.raises(ForbiddenError) as caught:
        admission.admit(pytorchjobs, job, operation="CREATE", old=None, namespace="demo")
    error = caught.value
    assert (error.code, error.reason, error.details) == (403, "Forbidden", None)
    assert error.message == (
        'admission webhook "validator.pytorchjob.training-operator.kubeflow.org" denied the request: '
        f"[{SPECS}[Worker].template.spec.containers: Required value: "
        f"must have at least one container with name pytorch, {SPECS}[Master].replicas: Forbidden: must be 1]"
    ), "v1.9 checks every replica's containers before the replica counts"


def test_a_single_field_error_is_not_bracketed(pytorchjobs: ResourceType) -> None:
    job = valid()
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["name"] = "main"
    admission = Admission(validators=[training.TrainingJobValidator()])
    with pytest.raises(ForbiddenError) as caught:
        admission.admit(pytorchjobs, job, operation="CREATE", old=None, namespace="demo")
    assert str(caught.value) == (
        'admission webhook "validator.pytorchjob.training-operator.kubeflow.org" denied the request: '
        f"{SPECS}[Worker].template.spec.containers: Required value: must have at least one container with name pytorch"
    )


def test_status_writes_and_other_kinds_are_not_the_webhooks_business(pytorchjobs: ResourceType) -> None:
    admission = Admission(validators=[training.TrainingJobValidator()])
    broken = valid()
    broken["spec"].pop("pytorchReplicaSpecs")
    admitted = admission.admit(
        pytorchjobs, broken, operation="UPDATE", old=broken, namespace="demo", subresource="status"
    )
    assert admitted["metadata"]["name"] == "pytorch-simple"
    admitted = admission.admit(pytorchjobs, valid(), operation="CREATE", old=None, namespace="demo")
    assert admitted["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] == 1


TF_SPECS = "spec.tfReplicaSpecs"


def valid_tfjob() -> Body:
    container = {"name": "tensorflow", "image": "kubeflow/tf-dist-mnist-test:latest"}
    replica = {"replicas": 2, "template": {"spec": {"containers": [container]}}}
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"name": "dist-mnist", "namespace": "demo"},
        "spec": {"tfReplicaSpecs": {"PS": copy.deepcopy(replica), "Worker": copy.deepcopy(replica)}},
    }


def tf_messages(job: Body) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in training.review_tfjob(job, old=None).causes]


@pytest.fixture
def tfjobs() -> ResourceType:
    store = Store(Catalog(), SystemClock())
    store.register_catalog_hook()
    register_crds(store)
    return store.catalog.lookup("kubeflow.org", "v1", "tfjobs")


def test_the_tf_example_and_lowercase_types_are_valid() -> None:
    job = valid_tfjob()
    assert tf_messages(job) == []
    specs = job["spec"]["tfReplicaSpecs"]
    specs["worker"], specs["Evaluator"] = specs.pop("Worker"), copy.deepcopy(specs["PS"])
    assert tf_messages(job) == [], "the TF webhook does not check replica type names"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda j: j["metadata"].update(name="Dist"), [("metadata.name", 'Invalid value: "Dist": should match: ')]),
        (lambda j: j["spec"].pop("tfReplicaSpecs"), [(TF_SPECS, "Required value: must be required")]),
        (
            lambda j: j["spec"]["tfReplicaSpecs"]["PS"]["template"]["spec"]["containers"][0].update(name="ps"),
            [
                (
                    f"{TF_SPECS}[PS].template.spec.containers",
                    "Required value: must have at least one container with name tensorflow",
                )
            ],
        ),
        (
            lambda j: j["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0].pop("image"),
            [(f"{TF_SPECS}[Worker].template.spec.containers[0].image", "Required value: must be required")],
        ),
        (
            lambda j: j["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"].update(containers=[]),
            [
                (f"{TF_SPECS}[Worker].template.spec.containers", "Required value: must be specified"),
                (
                    f"{TF_SPECS}[Worker].template.spec.containers",
                    "Required value: must have at least one container with name tensorflow",
                ),
            ],
        ),
        (
            lambda j: j["spec"]["tfReplicaSpecs"].update(
                Chief=j["spec"]["tfReplicaSpecs"]["PS"], Master=j["spec"]["tfReplicaSpecs"]["PS"]
            ),
            [(TF_SPECS, "Forbidden: must not have more than 1 Chief or Master role")],
        ),
    ],
)
def test_each_tf_rule_names_its_field(change: Any, expected: list[tuple[str, str]]) -> None:
    job = valid_tfjob()
    change(job)
    found = tf_messages(job)
    assert len(found) == len(expected), found
    assert all(f == e[0] and m.startswith(e[1]) for (f, m), e in zip(found, expected, strict=True)), found


def test_one_chief_is_allowed() -> None:
    job = valid_tfjob()
    job["spec"]["tfReplicaSpecs"]["Chief"] = copy.deepcopy(job["spec"]["tfReplicaSpecs"]["PS"])
    assert tf_messages(job) == []


def test_a_tfjob_refusal_names_the_tf_webhook(tfjobs: ResourceType) -> None:
    job = valid_tfjob()
    job["spec"]["tfReplicaSpecs"]["Master"] = job["spec"]["tfReplicaSpecs"]["Chief"] = job["spec"]["tfReplicaSpecs"][
        "PS"
    ]
    admission = Admission(validators=[training.TrainingJobValidator()])
    with pytest.raises(ForbiddenError) as caught:
        admission.admit(tfjobs, job, operation="CREATE", old=None, namespace="demo")
    error = caught.value
    assert (error.code, error.reason, error.details) == (403, "Forbidden", None)
    assert error.message == (
        'admission webhook "validator.tfjob.training-operator.kubeflow.org" denied the request: '
        f"{TF_SPECS}: Forbidden: must not have more than 1 Chief or Master role"
    )
    admitted = admission.admit(tfjobs, valid_tfjob(), operation="CREATE", old=None, namespace="demo")
    assert admitted["metadata"]["name"] == "dist-mnist"


MANAGED_BY = "spec.runPolicy.managedBy"
SUPPORTED = 'supported values: "kubeflow.org/training-operator", "kueue.x-k8s.io/multikueue"'


def with_manager(job: Body, manager: str | None) -> Body:
    changed = copy.deepcopy(job)
    policy = changed["spec"].setdefault("runPolicy", {})
    if manager is None:
        policy.pop("managedBy", None)
    else:
        policy["managedBy"] = manager
    return changed


def refusal(rt: ResourceType, job: Body, *, old: Body | None = None) -> str:
    admission = Admission(validators=[training.TrainingJobValidator()])
    operation = "CREATE" if old is None else "UPDATE"
    with pytest.raises(ForbiddenError) as caught:
        admission.admit(rt, job, operation=operation, old=old, namespace="demo")
    return caught.value.message


@pytest.mark.parametrize("manager", ["kubeflow.org/training-operator", "kueue.x-k8s.io/multikueue"])
def test_both_managers_are_accepted(manager: str) -> None:
    assert messages(with_manager(valid(), manager)) == []
    assert tf_messages(with_manager(valid_tfjob(), manager)) == []


def test_any_other_manager_is_refused_by_either_webhook(pytorchjobs: ResourceType, tfjobs: ResourceType) -> None:
    expected = f'{MANAGED_BY}: Unsupported value: "kueue.x-k8s.io/other": {SUPPORTED}'
    assert refusal(pytorchjobs, with_manager(valid(), "kueue.x-k8s.io/other")) == (
        f'admission webhook "validator.pytorchjob.training-operator.kubeflow.org" denied the request: {expected}'
    )
    assert refusal(tfjobs, with_manager(valid_tfjob(), "kueue.x-k8s.io/other")) == (
        f'admission webhook "validator.tfjob.training-operator.kubeflow.org" denied the request: {expected}'
    )


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        (None, "kueue.x-k8s.io/multikueue", '"kueue.x-k8s.io/multikueue"'),
        ("kueue.x-k8s.io/multikueue", None, '"null"'),
        ("kubeflow.org/training-operator", "kueue.x-k8s.io/multikueue", '"kueue.x-k8s.io/multikueue"'),
    ],
)
def test_a_tfjob_keeps_its_manager(tfjobs: ResourceType, before: str | None, after: str | None, shown: str) -> None:
    old = Admission().admit(tfjobs, with_manager(valid_tfjob(), before), operation="CREATE", old=None, namespace="demo")
    assert refusal(tfjobs, with_manager(old, after), old=old) == (
        'admission webhook "validator.tfjob.training-operator.kubeflow.org" denied the request: '
        f"{MANAGED_BY}: Invalid value: {shown}: field is immutable"
    )


def test_a_pytorchjob_manager_change_is_admitted_as_v1_9_compares_the_job_with_itself(
    pytorchjobs: ResourceType,
) -> None:
    admission = Admission(validators=[training.TrainingJobValidator()])
    old = admission.admit(pytorchjobs, valid(), operation="CREATE", old=None, namespace="demo")
    changed = with_manager(old, "kueue.x-k8s.io/multikueue")
    admitted = admission.admit(pytorchjobs, changed, operation="UPDATE", old=old, namespace="demo")
    assert admitted["spec"]["runPolicy"]["managedBy"] == "kueue.x-k8s.io/multikueue"
    assert refusal(pytorchjobs, with_manager(old, "someone/else"), old=old).endswith(
        f'{MANAGED_BY}: Unsupported value: "someone/else": {SUPPORTED}'
    ), "the value is still checked on update"


def elastic(job: Body, **policy: Any) -> Body:
    changed = copy.deepcopy(job)
    changed["spec"]["elasticPolicy"] = {"rdzvBackend": "c10d", **policy}
    return changed


def test_the_deprecated_nproc_per_node_is_admitted_with_a_warning(pytorchjobs: ResourceType) -> None:
    admission = Admission(validators=[training.TrainingJobValidator()])
    with warning.collecting() as warnings:
        admission.admit(pytorchjobs, elastic(valid(), nProcPerNode=2), operation="CREATE", old=None, namespace="demo")
    assert warnings == ["spec.elasticPolicy.nProcPerNode is deprecated, use spec.nprocPerNode instead"]
    with warning.collecting() as warnings:
        admission.admit(pytorchjobs, elastic(valid(), maxRestarts=3), operation="CREATE", old=None, namespace="demo")
    assert warnings == []


def test_the_deprecated_nproc_per_node_with_the_new_one_is_refused_and_still_warned(
    pytorchjobs: ResourceType,
) -> None:
    job = elastic(valid(), nProcPerNode=2)
    job["spec"]["nprocPerNode"] = "2"
    with warning.collecting() as warnings:
        message = refusal(pytorchjobs, job)
    assert message == (
        'admission webhook "validator.pytorchjob.training-operator.kubeflow.org" denied the request: '
        "spec.elasticPolicy.nProcPerNode: Forbidden: must not be used with spec.nprocPerNode"
    )
    assert warnings == ["spec.elasticPolicy.nProcPerNode is deprecated, use spec.nprocPerNode instead"]


def test_an_elastic_policy_needs_workers_and_workers_need_at_least_one_replica() -> None:
    job = elastic(valid())
    job["spec"]["pytorchReplicaSpecs"].pop("Worker")
    assert messages(job) == [(f"{SPECS}[Worker]", "Required value: must be configured if elastic policy is used")]
    job = valid()
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] = 0
    assert messages(job) == [(f"{SPECS}[Worker].replicas", "Forbidden: must be at least 1")]
