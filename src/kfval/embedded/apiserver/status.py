"""The only renderer of `kind: Status`: every failure leaves the server shaped like kube-apiserver's.

kubectl words its messages from these fields (`Error from server (NotFound): pods "x" not found`,
`The Pod "bad" is invalid: ...`), and Helm and the Python client pass `message` on, so the shape is
part of the contract (k8s-api-surface.md §4.7).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from kfval.embedded.errors import ApiError
from kfval.embedded.types import Body


def status_body(error: ApiError) -> Body:
    body: Body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": error.message,
        "reason": error.reason,
        "code": error.code,
    }
    if not error.reason:
        del body["reason"]  # metav1.Status omits an empty reason
    if error.details:
        body["details"] = error.details
    return body


def success_body(details: dict[str, Any] | None = None, *, code: int | None = None) -> Body:
    body: Body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details:
        body["details"] = details
    if code is not None:
        body["code"] = code
    return body


def error_response(error: ApiError) -> web.Response:
    return web.Response(
        status=error.code,
        body=json.dumps(status_body(error)).encode(),
        content_type="application/json",
    )


def watch_error_event(error: ApiError) -> Body:
    """A 410 (or other failure) delivered inside a watch stream, as an ERROR event."""
    return {"type": "ERROR", "object": status_body(error)}


def stream_success() -> Body:
    """The error channel's last word when a remote command succeeded (json.Marshal of a bare Status)."""
    return {"metadata": {}, "status": "Success"}


def stream_exit_code(code: int, message: str) -> Body:
    """A command that exited non-zero: kubectl and the Python client read the code from the cause."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: {message}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def stream_internal_error(cause: str) -> Body:
    """`apierrors.NewInternalError(cause)` as a remote command's error channel carries it."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {cause}",
        "reason": "InternalError",
        "details": {"causes": [{"message": cause}]},
        "code": 500,
    }
