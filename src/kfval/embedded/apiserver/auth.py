"""Who is calling: bearer tokens -> users, as kube-apiserver's token authenticators decide it.

Two kinds of token are honoured. The cluster's own token, written into the kubeconfig, is the
administrator `kfval-admin` in group `system:masters`, which a real cluster allows everything.
Tokens issued through `serviceaccounts/token` (TokenRequest, `kubectl create token`) are that
service account, as long as they have not expired and the account they were issued for (same
uid) still exists: a QA engineer's restricted CI identity can then be tried here with exactly the
rights a real cluster would give it. Anything else is a 401.

The probes a launcher polls before it has read the kubeconfig (/readyz, /healthz, /livez,
/version) are open, as the real server's `system:public-info-viewer` role makes them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from kfval.embedded.errors import ApiError, UnauthorizedError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

PUBLIC_PATHS = frozenset({"/readyz", "/healthz", "/livez", "/version", "/version/"})
ADMIN_USER = "kfval-admin"
MASTERS_GROUP = "system:masters"
AUTHENTICATED_GROUP = "system:authenticated"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class User:
    """An authenticated identity: what RBAC subjects are matched against."""

    name: str
    groups: tuple[str, ...] = ()

    @property
    def privileged(self) -> bool:
        """Members of `system:masters` pass authorization unconditionally, as on a real cluster."""
        return MASTERS_GROUP in self.groups


ADMIN = User(ADMIN_USER, (MASTERS_GROUP, AUTHENTICATED_GROUP))


def service_account_user(namespace: str, name: str) -> User:
    """The user a service account's token authenticates as, with the groups upstream gives it."""
    return User(
        f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
        (SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}", AUTHENTICATED_GROUP),
    )


def service_account_of(username: str) -> tuple[str, str] | None:
    """(namespace, name) when `username` is `system:serviceaccount:<ns>:<name>`."""
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, _, name = username[len(SERVICE_ACCOUNT_PREFIX) :].partition(":")
    if not namespace or not name or ":" in name:
        return None
    return namespace, name


@dataclass(frozen=True)
class IssuedToken:
    """What the server remembers about one token it issued (the token itself only as a digest)."""

    namespace: str
    service_account: str
    uid: str
    expires: datetime


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenAuthority:
    """Issues service-account tokens and tells who presents a bearer token.

    Issued tokens live in memory only: a restarted cluster has forgotten them, as a real cluster
    whose signing key was rotated has.
    """

    def __init__(self, admin_token: str, store: Store) -> None:
        self._admin_token = admin_token.encode()
        self._store = store
        self._issued: dict[str, IssuedToken] = {}
        self._accounts = store.catalog.lookup("", "v1", "serviceaccounts")

    def issue(self, account: Body, *, seconds: int) -> tuple[str, datetime]:
        """A new token for the ServiceAccount `account`, valid for `seconds`; returns it and its expiry."""
        now = self._store.clock.now()
        self._issued = {key: held for key, held in self._issued.items() if held.expires > now}
        meta = account["metadata"]
        token = new_token()
        expires = now + timedelta(seconds=seconds)
        self._issued[_digest(token)] = IssuedToken(meta["namespace"], meta["name"], meta["uid"], expires)
        return token, expires

    def user_of(self, token: str) -> User:
        """The user a bearer token stands for; 401 when it is unknown, expired or its account is gone."""
        if hmac.compare_digest(token.encode(), self._admin_token):
            return ADMIN
        issued = self._issued.get(_digest(token))
        if issued is None:
            raise UnauthorizedError("Unauthorized")
        if self._store.clock.now() >= issued.expires:
            del self._issued[_digest(token)]
            raise UnauthorizedError("Unauthorized")
        try:
            account = self._store.get(self._accounts, issued.namespace, issued.service_account)
        except ApiError:
            raise UnauthorizedError("Unauthorized") from None
        meta = account["metadata"]
        if meta.get("uid") != issued.uid or meta.get("deletionTimestamp"):
            raise UnauthorizedError("Unauthorized")
        return service_account_user(issued.namespace, issued.service_account)

    def authenticate(self, path: str, authorization: str | None) -> User | None:
        """The caller of a request, or None for a public path; 401 without a valid bearer token."""
        if path in PUBLIC_PATHS:
            return None
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise UnauthorizedError("Unauthorized")
        return self.user_of(presented.strip())


AUTHORITY = web.AppKey("token_authority", TokenAuthority)
CALLER = web.RequestKey("caller", User)
