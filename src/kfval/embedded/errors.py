"""The one error family of the embedded cluster.

Every layer raises :class:`ApiError` (or one of its named subclasses); the API server renders it
once, as a `kind: Status` object shaped like the real kube-apiserver's (see apiserver/status.py).

    ApiError(code, reason, message, details)
     ├── BadRequestError        400 BadRequest
     ├── UnauthorizedError      401 Unauthorized
     ├── ForbiddenError         403 Forbidden
     ├── NotFoundError          404 NotFound
     ├── MethodNotAllowedError  405 MethodNotAllowed
     ├── AlreadyExistsError     409 AlreadyExists
     ├── ConflictError          409 Conflict
     ├── GoneError              410 Expired
     ├── TooLargeError          413 RequestEntityTooLarge
     ├── UnsupportedMediaError  415 UnsupportedMediaType
     ├── InvalidError           422 Invalid (with causes)
     ├── InternalError          500 InternalError
     └── UnclassifiedError      500 (no reason)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kfval.embedded.types import ResourceType


@dataclass(frozen=True)
class Cause:
    """One field-level reason of a 422, as `details.causes[]` carries it."""

    reason: str
    message: str
    field: str

    def to_body(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


class ApiError(Exception):
    """A failure the API server answers with a Status object."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @classmethod
    def for_object(cls, rt: ResourceType, name: str, message: str) -> ApiError:
        """An error about one named object, with the `details` kubectl uses to word it."""
        details: dict[str, Any] = {"name": name, "kind": rt.resource}
        if rt.group:
            details["group"] = rt.group
        return cls(message, details=details)


class BadRequestError(ApiError):
    code = 400
    reason = "BadRequest"


class WebhookDeniedError(ApiError):
    """A webhook's refusal that carries only a message: kube-apiserver relays it as a 400 with no reason,
    which kubectl prints as `Error from server: ...` (the PodDefault webhook answers this way)."""

    code = 400
    reason = ""


class UnauthorizedError(ApiError):
    code = 401
    reason = "Unauthorized"


class ForbiddenError(ApiError):
    code = 403
    reason = "Forbidden"


class NotFoundError(ApiError):
    code = 404
    reason = "NotFound"

    @classmethod
    def object(cls, rt: ResourceType, name: str) -> ApiError:
        return cls.for_object(rt, name, f'{rt.qualified} "{name}" not found')


class MethodNotAllowedError(ApiError):
    code = 405
    reason = "MethodNotAllowed"


class AlreadyExistsError(ApiError):
    code = 409
    reason = "AlreadyExists"

    @classmethod
    def object(cls, rt: ResourceType, name: str) -> ApiError:
        return cls.for_object(rt, name, f'{rt.qualified} "{name}" already exists')


class ConflictError(ApiError):
    code = 409
    reason = "Conflict"

    @classmethod
    def modified(cls, rt: ResourceType, name: str) -> ApiError:
        return cls.for_object(
            rt,
            name,
            f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has been '
            "modified; please apply your changes to the latest version and try again",
        )


class GoneError(ApiError):
    code = 410
    reason = "Expired"


class TooLargeError(ApiError):
    code = 413
    reason = "RequestEntityTooLarge"


class UnsupportedMediaError(ApiError):
    code = 415
    reason = "UnsupportedMediaType"


class InvalidError(ApiError):
    """422: the object breaks a validation rule; `causes` name each offending field.

    The message is apimachinery's `NewInvalid`: the kind qualified by its group (`Widget.example.com`),
    then the causes as `ErrorList.ToAggregate()` prints them (duplicates once, several bracketed).
    """

    code = 422
    reason = "Invalid"

    def __init__(self, rt_kind: str, name: str, causes: list[Cause], *, group: str = "") -> None:
        texts = list(dict.fromkeys(f"{c.field}: {c.message}" for c in causes))
        summary = texts[0] if len(texts) == 1 else f"[{', '.join(texts)}]"
        qualified = f"{rt_kind}.{group}" if group else rt_kind
        super().__init__(
            f'{qualified} "{name}" is invalid: {summary}',
            details={
                "name": name,
                "group": group,
                "kind": rt_kind,
                "causes": [c.to_body() for c in causes],
            },
        )
        self.causes = causes


class InternalError(ApiError):
    code = 500
    reason = "InternalError"


class UnclassifiedError(ApiError):
    """500 without a reason: a plain Go error that reached the handler (e.g. server-side apply's typed
    conversion), which kube-apiserver answers with `reason` left empty and kubectl prints as
    `Error from server: <message>`."""

    code = 500
    reason = ""
