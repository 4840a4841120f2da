"""The training operator's validating webhook (v1.8), as an admission plug-in.

With training-operator v1.8 a malformed PyTorchJob never reaches the controller: the API server
asks the operator's webhook, and scenarios that check "an invalid job is refused" depend on the
wording of the refusal, so the rules and messages here follow the webhooks' (`pytorchjob_webhook.go`,
`tfjob_webhook.go`). Those webhooks return `field.ErrorList.ToAggregate()`, a plain error rather
than an API status, so controller-runtime answers `admission.Denied(err.Error())` (403 Forbidden)
and kube-apiserver's `ToStatusErr` relays a 403 whose message is `admission webhook "<name>" denied
the request: <err>` and which carries no details. kubectl therefore prints `Error from server
(Forbidden): ...`, not the `The PyTorchJob "x" is invalid: ...` of the API server's own validation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kfval.embedded.admission import validation
from kfval.embedded.admission.chain import AdmissionRequest
from kfval.embedded.errors import Cause, ForbiddenError
from kfval.embedded.types import Body

GROUP = "kubeflow.org"
PYTORCH_WEBHOOK = "validator.pytorchjob.training-operator.kubeflow.org"
PYTORCH_REPLICA_TYPES = ("Master", "Worker")
PYTORCH_CONTAINER = "pytorch"
PYTORCH_SPECS = "spec.pytorchReplicaSpecs"
TF_WEBHOOK = "validator.tfjob.training-operator.kubeflow.org"
TF_CONTAINER = "tensorflow"
TF_SPECS = "spec.tfReplicaSpecs"
TF_CHIEF_ROLES = ("Chief", "Master")


def _name_causes(job: Mapping[str, Any]) -> list[Cause]:
    """Service names derive from the job's, so it must be a DNS-1035 label."""
    name = str((job.get("metadata") or {}).get("name") or "")
    errors = validation.dns1035_label_errors(name)
    return [validation.invalid("metadata.name", name, f"should match: {','.join(errors)}")] if errors else []


def pytorchjob_causes(job: Mapping[str, Any]) -> list[Cause]:
    """Every rule the v1.8 webhook checks on a PyTorchJob create or update, in its order."""
    causes = _name_causes(job)
    spec = job.get("spec") or {}
    elastic_nproc = (spec.get("elasticPolicy") or {}).get("nProcPerNode")
    if elastic_nproc is not None and spec.get("nprocPerNode") is not None:
        causes.append(
            validation.forbidden("spec.elasticPolicy.nProcPerNode", "must not be used with spec.nprocPerNode")
        )
    specs = spec.get("pytorchReplicaSpecs")
    if specs is None:
        return [*causes, validation.required(PYTORCH_SPECS, "must be required")]
    for replica_type, replica in dict(specs).items():
        causes += _pytorch_replica_causes(str(replica_type), replica)
    return causes


def tfjob_causes(job: Mapping[str, Any]) -> list[Cause]:
    """Every rule the v1.8 webhook checks on a TFJob create or update, in its order: the name, the
    containers of each replica, at most one Chief or Master (replica type names are not checked)."""
    causes = _name_causes(job)
    specs = (job.get("spec") or {}).get("tfReplicaSpecs")
    if specs is None:
        return [*causes, validation.required(TF_SPECS, "must be required")]
    for replica_type, replica in dict(specs).items():
        causes += _tf_replica_causes(str(replica_type), replica)
    if sum(1 for replica_type in dict(specs) if replica_type in TF_CHIEF_ROLES) > 1:
        causes.append(validation.forbidden(TF_SPECS, "must not have more than 1 Chief or Master role"))
    return causes


def _containers(path: str, replica: Any) -> tuple[list[Any], list[Cause]]:
    """A replica's containers, and the cause when it has none."""
    replica = replica if isinstance(replica, Mapping) else {}
    containers = list(((replica.get("template") or {}).get("spec") or {}).get("containers") or [])
    missing = [] if containers else [validation.required(f"{path}.template.spec.containers", "must be specified")]
    return containers, missing


def _container_causes(path: str, containers: list[Any], *, container_name: str) -> list[Cause]:
    """The rules both webhooks share: every container has an image, one is named for the framework."""
    containers_path = f"{path}.template.spec.containers"
    causes: list[Cause] = []
    for index, container in enumerate(containers):
        if not (container or {}).get("image"):
            causes.append(validation.required(f"{containers_path}[{index}].image", "must be required"))
    if not any((container or {}).get("name") == container_name for container in containers):
        detail = f"must have at least one container with name {container_name}"
        causes.append(validation.required(containers_path, detail))
    return causes


def _pytorch_replica_causes(replica_type: str, replica: Any) -> list[Cause]:
    path = f"{PYTORCH_SPECS}[{replica_type}]"
    containers, causes = _containers(path, replica)
    if replica_type not in PYTORCH_REPLICA_TYPES:
        causes.append(validation.not_supported(path, replica_type, PYTORCH_REPLICA_TYPES))
    causes += _container_causes(path, containers, container_name=PYTORCH_CONTAINER)
    if replica_type == "Master" and (replica if isinstance(replica, Mapping) else {}).get("replicas") != 1:
        causes.append(validation.forbidden(f"{path}.replicas", "must be 1"))
    return causes


def _tf_replica_causes(replica_type: str, replica: Any) -> list[Cause]:
    path = f"{TF_SPECS}[{replica_type}]"
    containers, causes = _containers(path, replica)
    return causes + _container_causes(path, containers, container_name=TF_CONTAINER)


def aggregate_message(causes: list[Cause]) -> str:
    """`err.Error()` of the webhook's `field.ErrorList.ToAggregate()`: each `<field>: <message>` once,
    in order; one stands alone, several are bracketed and comma-joined."""
    texts = list(dict.fromkeys(f"{cause.field}: {cause.message}" for cause in causes))
    return texts[0] if len(texts) == 1 else f"[{', '.join(texts)}]"


def denied(webhook: str, causes: list[Cause]) -> ForbiddenError:
    """The 403 kube-apiserver relays for a controller-runtime webhook's `Denied`: the webhook's name
    before the aggregate's text, reason Forbidden, no details (the webhook's response has none)."""
    return ForbiddenError(f'admission webhook "{webhook}" denied the request: {aggregate_message(causes)}')


class TrainingJobValidator:
    """The `Validator` plug-in for the operator's jobs: one webhook per kind, as upstream registers."""

    def validate(self, request: AdmissionRequest) -> None:
        """Refuse an invalid PyTorchJob or TFJob create or update; status writes are not the webhook's."""
        if request.subresource is not None or request.rt.group != GROUP:
            return
        rules = WEBHOOKS.get(request.rt.resource)
        if rules is None:
            return
        webhook, causes_of = rules
        body: Body = request.object
        causes = causes_of(body)
        if causes:
            raise denied(webhook, causes)


WEBHOOKS: dict[str, tuple[str, Callable[[Mapping[str, Any]], list[Cause]]]] = {
    "pytorchjobs": (PYTORCH_WEBHOOK, pytorchjob_causes),
    "tfjobs": (TF_WEBHOOK, tfjob_causes),
}
"""The webhook name and the rules for each job resource."""
