"""The training operator's validating webhooks (v1.9), as an admission plug-in.

With training-operator v1.9 a malformed PyTorchJob never reaches the controller: the API server
asks the operator's webhook, and scenarios that check "an invalid job is refused" depend on the
wording of the refusal, so the rules and messages here follow the webhooks' (`pytorchjob_webhook.go`,
`tfjob_webhook.go`, `pkg/webhooks/utils`, `pkg/common/util/webhooks.go`). Those webhooks return
`field.ErrorList.ToAggregate()`, a plain error rather than an API status, so controller-runtime
answers `admission.Denied(err.Error())` (403 Forbidden) and kube-apiserver's `ToStatusErr` relays a
403 whose message is `admission webhook "<name>" denied the request: <err>` and which carries no
details. kubectl therefore prints `Error from server (Forbidden): ...`, not the
`The PyTorchJob "x" is invalid: ...` of the API server's own validation.

A webhook's warnings (the PyTorchJob one warns about the deprecated `elasticPolicy.nProcPerNode`)
reach the client as `Warning:` headers whether the request is admitted or refused, as kube-apiserver
records them before it looks at the verdict.

Two v1.9 quirks are kept because clients see them: the PyTorchJob webhook's ValidateUpdate compares
the new object with itself (`oldJob := newObj`), so a change of `runPolicy.managedBy` is admitted
while the TFJob webhook refuses it as immutable; and the supported managedBy values come from a Go
set, so upstream lists them in no fixed order (here always in the order below).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kfval.embedded import warning
from kfval.embedded.admission import validation
from kfval.embedded.admission.chain import AdmissionRequest
from kfval.embedded.admission.immutability import FIELD_IMMUTABLE
from kfval.embedded.errors import Cause, ForbiddenError

GROUP = "kubeflow.org"
PYTORCH_WEBHOOK = "validator.pytorchjob.training-operator.kubeflow.org"
PYTORCH_REPLICA_TYPES = ("Master", "Worker")
PYTORCH_CONTAINER = "pytorch"
PYTORCH_SPECS = "spec.pytorchReplicaSpecs"
TF_WEBHOOK = "validator.tfjob.training-operator.kubeflow.org"
TF_CONTAINER = "tensorflow"
TF_SPECS = "spec.tfReplicaSpecs"
TF_CHIEF_ROLES = ("Chief", "Master")
MANAGED_BY = "spec.runPolicy.managedBy"
MANAGED_BY_CONTROLLERS = ("kubeflow.org/training-operator", "kueue.x-k8s.io/multikueue")
"""`KubeflowJobsController` and `MultiKueueController`, the only managers the webhooks accept."""
ELASTIC_NPROC = "spec.elasticPolicy.nProcPerNode"
NPROC = "spec.nprocPerNode"
NPROC_DEPRECATED = f"{ELASTIC_NPROC} is deprecated, use {NPROC} instead"


@dataclass(frozen=True)
class Review:
    """What one webhook call answers: the field errors that refuse the request, and its warnings."""

    causes: list[Cause]
    warnings: list[str]


def _name_causes(job: Mapping[str, Any]) -> list[Cause]:
    """Service names derive from the job's, so it must be a DNS-1035 label (`ValidateJobName`)."""
    name = str((job.get("metadata") or {}).get("name") or "")
    errors = validation.dns1035_label_errors(name)
    return [validation.invalid("metadata.name", name, f"should match: {','.join(errors)}")] if errors else []


def _managed_by(job: Mapping[str, Any] | None) -> Any:
    return (((job or {}).get("spec") or {}).get("runPolicy") or {}).get("managedBy")


def managed_by_causes(job: Mapping[str, Any], *, old: Mapping[str, Any] | None) -> list[Cause]:
    """Upstream `ValidateManagedBy`: immutable once created (on update), and one of two managers."""
    causes: list[Cause] = []
    value = _managed_by(job)
    if old is not None and value != _managed_by(old):
        shown = '"null"' if value is None else None
        causes.append(validation.invalid(MANAGED_BY, value, FIELD_IMMUTABLE, rendered=shown))
    if value is not None and value not in MANAGED_BY_CONTROLLERS:
        causes.append(validation.not_supported(MANAGED_BY, value, MANAGED_BY_CONTROLLERS))
    return causes


def review_pytorchjob(job: Mapping[str, Any]) -> Review:
    """Every rule the v1.9 webhook checks on a PyTorchJob create or update, in its order. The same on
    both: upstream's ValidateUpdate compares the job with itself, so managedBy never looks changed."""
    causes = _name_causes(job) + managed_by_causes(job, old=None)
    spec = job.get("spec") or {}
    elastic = spec.get("elasticPolicy")
    specs = spec.get("pytorchReplicaSpecs")
    warnings: list[str] = []
    if elastic is not None:
        if "Worker" not in dict(specs or {}):
            causes.append(
                validation.required(f"{PYTORCH_SPECS}[Worker]", "must be configured if elastic policy is used")
            )
        if elastic.get("nProcPerNode") is not None:
            warnings.append(NPROC_DEPRECATED)
            if spec.get("nprocPerNode") is not None:
                causes.append(validation.forbidden(ELASTIC_NPROC, f"must not be used with {NPROC}"))
    causes += _replica_specs_causes(PYTORCH_SPECS, specs, container=PYTORCH_CONTAINER, types=PYTORCH_REPLICA_TYPES)
    for replica_type, replica in dict(specs or {}).items():
        replicas = (replica if isinstance(replica, Mapping) else {}).get("replicas")
        if replica_type == "Master" and replicas != 1:
            causes.append(validation.forbidden(f"{PYTORCH_SPECS}[Master].replicas", "must be 1"))
        elif replica_type != "Master" and isinstance(replicas, int) and replicas < 1:
            causes.append(validation.forbidden(f"{PYTORCH_SPECS}[{replica_type}].replicas", "must be at least 1"))
    return Review(causes, warnings)


def review_tfjob(job: Mapping[str, Any], *, old: Mapping[str, Any] | None) -> Review:
    """Every rule the v1.9 webhook checks on a TFJob create or update, in its order: the name, the
    manager, the containers of each replica, at most one Chief or Master (type names are free)."""
    causes = _name_causes(job) + managed_by_causes(job, old=old)
    specs = (job.get("spec") or {}).get("tfReplicaSpecs")
    causes += _replica_specs_causes(TF_SPECS, specs, container=TF_CONTAINER, types=())
    if sum(1 for replica_type in dict(specs or {}) if replica_type in TF_CHIEF_ROLES) > 1:
        causes.append(validation.forbidden(TF_SPECS, "must not have more than 1 Chief or Master role"))
    return Review(causes, [])


def _replica_specs_causes(path: str, specs: Any, *, container: str, types: tuple[str, ...]) -> list[Cause]:
    """Upstream `ValidateReplicaSpecs`: the map exists; per type, a known type (when the kind names
    its types), at least one container, an image for each, one container named for the framework."""
    if specs is None:
        return [validation.required(path, "must be required")]
    causes: list[Cause] = []
    for replica_type, replica in dict(specs).items():
        role = f"{path}[{replica_type}]"
        containers_path = f"{role}.template.spec.containers"
        if types and replica_type not in types:
            causes.append(validation.not_supported(role, replica_type, types))
        template = (replica if isinstance(replica, Mapping) else {}).get("template") or {}
        containers = list((template.get("spec") or {}).get("containers") or [])
        if not containers:
            causes.append(validation.required(containers_path, "must be specified"))
        for index, entry in enumerate(containers):
            if not (entry or {}).get("image"):
                causes.append(validation.required(f"{containers_path}[{index}].image", "must be required"))
        if not any((entry or {}).get("name") == container for entry in containers):
            detail = f"must have at least one container with name {container}"
            causes.append(validation.required(containers_path, detail))
    return causes


def aggregate_message(causes: list[Cause]) -> str:
    """`err.Error()` of the webhook's `field.ErrorList.ToAggregate()`: each `<field>: <message>` once,
    in order; one stands alone, several are bracketed and comma-joined."""
    texts = list(dict.fromkeys(f"{cause.field}: {cause.message}" for cause in causes))
    return texts[0] if len(texts) == 1 else f"[{', '.join(texts)}]"


def denied(webhook: str, causes: list[Cause]) -> ForbiddenError:
    """The 403 kube-apiserver relays for a controller-runtime webhook's `Denied`: the webhook's name
    before the aggregate's text, reason Forbidden, no details (the webhook's response has none)."""
    return ForbiddenError(f'admission webhook "{webhook}" denied the request: {aggregate_message(causes)}')


def _pytorchjob(request: AdmissionRequest) -> Review:
    return review_pytorchjob(request.object)


def _tfjob(request: AdmissionRequest) -> Review:
    return review_tfjob(request.object, old=request.old)


WEBHOOKS: dict[str, tuple[str, Callable[[AdmissionRequest], Review]]] = {
    "pytorchjobs": (PYTORCH_WEBHOOK, _pytorchjob),
    "tfjobs": (TF_WEBHOOK, _tfjob),
}
"""The webhook name and the rules for each job resource."""


class TrainingJobValidator:
    """The `Validator` plug-in for the operator's jobs: one webhook per kind, as upstream registers."""

    def validate(self, request: AdmissionRequest) -> None:
        """Warn about, then refuse, an invalid PyTorchJob or TFJob create or update; status writes are
        not the webhook's (it is registered for the main resource only)."""
        if request.subresource is not None or request.rt.group != GROUP:
            return
        hook = WEBHOOKS.get(request.rt.resource)
        if hook is None:
            return
        webhook, review_of = hook
        review = review_of(request)
        for message in review.warnings:
            warning.add(message)
        if review.causes:
            raise denied(webhook, review.causes)
