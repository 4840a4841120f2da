"""Bearer-token authentication: the cluster answers only the holder of its kubeconfig.

The probes a launcher polls before it has read the kubeconfig (/readyz, /healthz, /livez,
/version) are open, as the real server's `system:public-info-viewer` role makes them.
"""

from __future__ import annotations

import hmac
import secrets

from kfval.embedded.errors import UnauthorizedError

PUBLIC_PATHS = frozenset({"/readyz", "/healthz", "/livez", "/version", "/version/"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def authenticate(path: str, authorization: str | None, token: str) -> None:
    """Raise 401 unless the request carries `Authorization: Bearer <token>` (or is public)."""
    if path in PUBLIC_PATHS:
        return
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token.encode()):
        raise UnauthorizedError("Unauthorized")
