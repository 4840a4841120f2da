"""The suite's one exception tree, and the one place where the client's exceptions are mapped into it.

    KfvalError
     ├── ClusterError                 a request to the API server failed
     │    ├── ClusterUnreachableError  no connection (names the server and context)
     │    │    ├── ApiOutageError       it answered before, then not for longer than the run's bound
     │    │    └── ClusterGoneError     it will not answer again: the embedded cluster's process died
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
     ├── PermissionNotInTableError    a request the permissions table lacks, refused with strict permissions
     └── SetupError                   the suite itself cannot start (settings, embedded cluster)

Steps never catch these: radish reports the message, the terrain records the evidence.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
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


class ApiOutageError(ClusterUnreachableError):
    """The API server answered earlier in the run, then stopped answering for longer than the run allows
    (timeouts.api_outage, or the cleanup's own deadline); the message names the server, how long it has
    been unreachable, what was being tried and the last error."""


class ClusterGoneError(ClusterUnreachableError):
    """The cluster will not answer again (the embedded cluster's recorded process is dead): waiting out the
    outage bound would only delay a failure that is already certain."""


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


class PermissionNotInTableError(KfvalError):
    """The suite made a request the permissions table (kfval/kube/permissions.py) does not list."""


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
        f"cannot reach the API server {server} (context {context!r}): {failure_text(error)}; check that the "
        "cluster runs and that target.kubeconfig/target.context in radish.ini point at it"
    )


TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError,
    ConnectionError,
    OSError,
)
"""What the client raises when there is no answer at all (refused, reset, DNS, TLS, read timeout)."""

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
"""Answers that mean "not now": too many requests, or a server (or the load balancer before it) in trouble."""
RETRY_AFTER_CEILING_SECONDS = 10.0


def is_transient(error: BaseException) -> bool:
    """Whether trying again later may succeed: no answer at all (refused, reset, TLS cut off, timed out) or an
    answer that says "not now" (429, 5xx). A server certificate the client refuses never gets better."""
    if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(error)):
        return False
    if isinstance(error, ApiException):
        if error.status:
            return int(error.status) in TRANSIENT_STATUS
        # The client turns a TLS failure (an SSLEOFError when a connection is cut) into a status-0 ApiException.
        return any(isinstance(cause, TRANSPORT_ERRORS) for cause in _causes(error))
    return isinstance(error, TRANSPORT_ERRORS)


def is_timeout(error: BaseException) -> bool:
    """Whether the connection gave no byte for the read (or connect) timeout: a stall, not a refusal."""
    return any(isinstance(cause, (TimeoutError, urllib3.exceptions.TimeoutError)) for cause in _causes(error))


def retry_after(error: BaseException) -> float | None:
    """The seconds a 429 or 503 answer asks the client to wait (Retry-After), capped; None when it says none."""
    headers = getattr(error, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return min(RETRY_AFTER_CEILING_SECONDS, max(0.0, float(value))) if value else None
    except ValueError:
        return None


def failure_text(error: BaseException) -> str:
    """One line for what went wrong, as deep as it is known: `ConnectionResetError: [Errno 104] Connection reset
    by peer` rather than the client's wrapper around it, `503 ServiceUnavailable: ...` for an answer."""
    if isinstance(error, ApiException) and error.status:
        message, reason = _server_message(error)
        return f"{error.status} {reason or error.reason}: {message}" if message else f"{error.status} {error.reason}"
    causes = list(_causes(error))
    systems = [cause for cause in causes if isinstance(cause, OSError) and not isinstance(cause, TimeoutError)]
    if systems and str(systems[-1]):
        return f"{type(systems[-1]).__name__}: {systems[-1]}"
    wrapper = next((cause for cause in causes if isinstance(cause, urllib3.exceptions.HTTPError)), error)
    return f"{type(wrapper).__name__}: {wrapper}"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it wraps: its causes, its context, exceptions among its arguments (urllib3 puts the
    socket's error there) and a pool error's `reason`, breadth first, each once."""
    pending, seen = [error], set[int]()
    while pending and len(seen) < 16:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [argument for argument in current.args if isinstance(argument, BaseException)]
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None))
        pending += [link for link in linked if isinstance(link, BaseException)]


CONFIG_ERRORS: tuple[type[BaseException], ...] = (ConfigException, yaml.YAMLError)
"""What loading a kubeconfig raises for a file that is not one (not YAML, no context, no user)."""
