"""The training operator's validating webhook (v1.8), as an admission plug-in.

With training-operator v1.8 a malformed PyTorchJob never reaches the controller: the API server
asks the operator's webhook and refuses the write with field errors, which kubectl prints as
`The PyTorchJob "x" is invalid: ...`. Scenarios that check "an invalid job is refused" depend on
that wording, so the rules and messages here follow the webhook's (`pytorchjob_webhook.go`); the
refusal carries the webhook's name in its message, as a real API server's does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfval.embedded.admission import validation
from kfval.embedded.admission.chain import AdmissionRequest
from kfval.embedded.errors import Cause, InvalidError
from kfval.embedded.types import Body

GROUP = "kubeflow.org"
PYTORCH_WEBHOOK = "validator.pytorchjob.training-operator.kubeflow.org"
PYTORCH_REPLICA_TYPES = ("Master", "Worker")
PYTORCH_CONTAINER = "pytorch"
PYTORCH_SPECS = "spec.pytorchReplicaSpecs"


def pytorchjob_causes(job: Mapping[str, Any]) -> list[Cause]:
    """Every rule the v1.8 webhook checks on a PyTorchJob create or update, in its order."""
    causes: list[Cause] = []
    name = str((job.get("metadata") or {}).get("name") or "")
    errors = validation.dns1035_label_errors(name)
    if errors:
        causes.append(validation.invalid("metadata.name", name, f"should match: {','.join(errors)}"))
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
        causes += _replica_causes(str(replica_type), replica)
    return causes


def _replica_causes(replica_type: str, replica: Any) -> list[Cause]:
    path = f"{PYTORCH_SPECS}[{replica_type}]"
    containers_path = f"{path}.template.spec.containers"
    replica = replica if isinstance(replica, Mapping) else {}
    containers = ((replica.get("template") or {}).get("spec") or {}).get("containers") or []
    causes: list[Cause] = []
    if not containers:
        causes.append(validation.required(containers_path, "must be specified"))
    if replica_type not in PYTORCH_REPLICA_TYPES:
        causes.append(validation.not_supported(path, replica_type, PYTORCH_REPLICA_TYPES))
    for index, container in enumerate(containers):
        if not (container or {}).get("image"):
            causes.append(validation.required(f"{containers_path}[{index}].image", "must be required"))
    if not any((container or {}).get("name") == PYTORCH_CONTAINER for container in containers):
        detail = f"must have at least one container with name {PYTORCH_CONTAINER}"
        causes.append(validation.required(containers_path, detail))
    if replica_type == "Master" and replica.get("replicas") != 1:
        causes.append(validation.forbidden(f"{path}.replicas", "must be 1"))
    return causes


def denied(webhook: str, kind: str, *, name: str, causes: list[Cause]) -> InvalidError:
    """A 422 as the API server relays a webhook's Invalid status: the operator's details and causes,
    the message prefixed with the webhook that denied it."""
    error = InvalidError(kind, name, causes, group=GROUP)
    error.message = f'admission webhook "{webhook}" denied the request: ' + error.message.replace(
        f'{kind} "', f'{kind}.{GROUP} "', 1
    )
    error.args = (error.message,)
    return error


class TrainingJobValidator:
    """The `Validator` plug-in for the operator's jobs (PyTorchJob; TFJob rules can join here)."""

    def validate(self, request: AdmissionRequest) -> None:
        """Refuse an invalid PyTorchJob create or update; status writes are not the webhook's."""
        if request.subresource is not None or request.rt.group != GROUP or request.rt.resource != "pytorchjobs":
            return
        body: Body = request.object
        causes = pytorchjob_causes(body)
        if causes:
            name = str((body.get("metadata") or {}).get("name") or "")
            raise denied(PYTORCH_WEBHOOK, request.rt.kind, name=name, causes=causes)
