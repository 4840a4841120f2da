"""The suite's one exception tree, and the one place where the client's exceptions are mapped into it.

    KfvalError
     ├── ClusterError                 a request to the API server failed
     │    ├── ClusterUnreachableError  no connection (names the server and context)
     │    ├── UnauthorizedError        401: the credentials were refused
     │    ├── ForbiddenError           403: names the verb and resource that were denied
     │    ├── NotFoundError            404
     │    ├── ConflictError            409
     │    ├── InvalidError             422, or an admission webhook's denial: an object was refused
     │    ├── ExpiredError             410: a watch's resourceVersion is too old
     │    └── ServerError              5xx and anything else
     ├── ManifestError                a manifest cannot be read, rendered or mapped to a served kind
     │    └── MissingKindError         the kind is not served ("is the Kubeflow training operator installed?")
     ├── WaitTimeoutError             a wait ran out of time; carries the evidence of what it saw
     ├── WorkloadFailedError          a wait saw a state that cannot recover (ImagePullBackOff, job Failed, ...)
     ├── ReleaseError                 a Helm action failed, crashed or hung; carries Helm's last words
     ├── ExpectationError             the cluster answered, but not as the feature expects
     └── SetupError                   the suite itself cannot start (settings, embedded cluster)

Steps never catch these: radish reports the message, the terrain records the evidence.
"""

from __future__ import annotations

import json
from typing import Any

import urllib3.exceptions
import yaml
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException


class KfvalError(Exception):
    """Base of every error the suite raises on purpose: its message is written for a QA engineer."""


class ClusterError(KfvalError):
    """A request to the API server failed; `status` and `reason` are the server's when it answered."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class ClusterUnreachableError(ClusterError):
    pass


class UnauthorizedError(ClusterError):
    pass


class ForbiddenError(ClusterError):
    pass


class NotFoundError(ClusterError):
    pass


class ConflictError(ClusterError):
    pass


class InvalidError(ClusterError):
    pass


class ExpiredError(ClusterError):
    pass


class ServerError(ClusterError):
    pass


class ManifestError(KfvalError):
    """A manifest cannot be used; the message names the file (and line) and what to change."""


class MissingKindError(ManifestError):
    pass


class WaitTimeoutError(KfvalError):
    """A wait ran out of time. `evidence` is what it saw last, for the report."""

    def __init__(self, message: str, *, evidence: str = "") -> None:
        super().__init__(message)
        self.evidence = evidence


class WorkloadFailedError(KfvalError):
    """A workload reached a state it cannot recover from; `evidence` explains it for the report."""

    def __init__(self, message: str, *, evidence: str = "") -> None:
        super().__init__(message)
        self.evidence = evidence


class ReleaseError(KfvalError):
    """A Helm action (install, upgrade, rollback, uninstall) failed; the message is what Helm said."""


class ExpectationError(KfvalError):
    pass


class SetupError(KfvalError):
    pass


_BY_STATUS: dict[int, type[ClusterError]] = {
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    410: ExpiredError,
    422: InvalidError,
}


def _server_message(error: ApiException) -> tuple[str, str]:
    """The Status message and reason the server sent, when the body is a Status object."""
    try:
        body: Any = json.loads(error.body or "")
    except (TypeError, ValueError):
        return (error.reason or "").strip(), ""
    if isinstance(body, dict):
        return str(body.get("message") or error.reason or ""), str(body.get("reason") or "")
    return (error.reason or "").strip(), ""


def from_api_exception(error: ApiException, *, verb: str, what: str, server: str) -> ClusterError:
    """Map the client's ApiException; `what` names the object or resource (`pods "x" in namespace "y"`)."""
    message, reason = _server_message(error)
    status = int(error.status or 0)
    if status == 403 and "denied the request" in message:
        # A validating webhook's refusal (controller-runtime answers 403): the object, not the caller, is at fault.
        return InvalidError(f"{verb} {what} was refused: {message}", status=status, reason=reason)
    if status == 401:
        text = (
            f"the API server {server} refused the credentials (401 Unauthorized) when trying to {verb} {what}: "
            "check the token or certificate of the kubeconfig context"
        )
    elif status == 403:
        text = (
            f"the API server {server} forbids {verb} on {what} (403 Forbidden): {message}; grant the suite's "
            "service account or user that verb in a Role or ClusterRole"
        )
    else:
        text = f"{verb} {what} failed: {message or error.reason} ({status} {reason or error.reason})".strip()
    return _BY_STATUS.get(status, ServerError)(text, status=status or None, reason=reason)


def unreachable(error: BaseException, *, server: str, context: str) -> ClusterUnreachableError:
    return ClusterUnreachableError(
        f"cannot reach the API server {server} (context {context!r}): {error}; check that the cluster runs and "
        "that target.kubeconfig/target.context in radish.ini point at it"
    )


TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError,
    ConnectionError,
    OSError,
)
"""What the client raises when there is no answer at all (refused, reset, DNS, TLS)."""

CONFIG_ERRORS: tuple[type[BaseException], ...] = (ConfigException, yaml.YAMLError)
"""What loading a kubeconfig raises for a file that is not one (not YAML, no context, no user)."""
