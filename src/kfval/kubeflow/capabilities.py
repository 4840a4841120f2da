"""What each feature needs installed in a cluster: the CustomResourceDefinitions its manifests use, at
their versions, and the controllers that act on them.

Preflight reads this before a run so that a cluster without the training operator fails in one line
naming the component, instead of in every scenario. What a feature needs beyond its CRDs is also a
capability tag on the scenarios that need it (`@needs-rwx`, `@needs-registry`), so that a missing
capability fails, or skips, exactly those scenarios. Controllers are found by the labels their upstream
manifests put on their Deployments, in any namespace (Kubeflow installs them in `kubeflow`, other
distributions elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Crd:
    """A custom resource a feature's manifests use, at the version they use."""

    group: str
    plural: str
    kind: str
    version: str

    @property
    def name(self) -> str:
        return f"{self.plural}.{self.group}"


@dataclass(frozen=True)
class Controller:
    """A controller's Deployment, as its upstream manifests label it."""

    name: str
    label_selector: str
    install: str
    """What to install when it is missing, in an administrator's words."""


TRAINING_OPERATOR = Controller(
    "the Kubeflow training operator",
    "control-plane=kubeflow-training-operator",
    "install the Kubeflow training operator (kubeflow/training-operator, manifests/overlays/standalone)",
)
NOTEBOOK_CONTROLLER = Controller(
    "the Kubeflow notebook controller",
    "app=notebook-controller",
    "install Kubeflow's notebook controller (kubeflow/kubeflow components/notebook-controller)",
)
PODDEFAULT_WEBHOOK = Controller(
    "the PodDefault admission webhook",
    "app=poddefaults",
    "install Kubeflow's admission webhook (kubeflow/kubeflow components/admission-webhook)",
)


NEEDS_RWX = "needs-rwx"
"""Capability tag of scenarios that need a StorageClass offering ReadWriteMany."""
NEEDS_REGISTRY = "needs-registry"
"""Capability tag of scenarios that push images to a registry (the builder's)."""
CAPABILITY_TAGS = (NEEDS_RWX, NEEDS_REGISTRY)


@dataclass(frozen=True)
class Needs:
    crds: tuple[Crd, ...] = ()
    controllers: tuple[Controller, ...] = ()
    read_write_many: bool = False
    """Workspaces shared by several pods: a StorageClass that offers ReadWriteMany (tag `@needs-rwx`)."""
    registry: bool = False
    """Built images are pushed to a registry the cluster pulls from (tag `@needs-registry`)."""
    images: tuple[str, ...] = ()
    """The keys of radish.ini [images] its workloads run."""


NEEDS: Mapping[str, Needs] = {
    "pytorchjob": Needs(
        (Crd("kubeflow.org", "pytorchjobs", "PyTorchJob", "v1"),), (TRAINING_OPERATOR,), images=("pytorch_mnist",)
    ),
    "tfjob": Needs((Crd("kubeflow.org", "tfjobs", "TFJob", "v1"),), (TRAINING_OPERATOR,), images=("tf_mnist",)),
    "notebooks": Needs(
        (
            Crd("kubeflow.org", "notebooks", "Notebook", "v1beta1"),
            Crd("kubeflow.org", "poddefaults", "PodDefault", "v1alpha1"),
        ),
        (NOTEBOOK_CONTROLLER, PODDEFAULT_WEBHOOK),
        read_write_many=True,
        images=("notebook", "notebook_r"),
    ),
    "builder": Needs(read_write_many=True, registry=True),
    "helm": Needs(),
}
"""Per feature of the permissions table; the features a feature runs steps of add their own needs."""
