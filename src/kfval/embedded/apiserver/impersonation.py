"""Acting as another identity (`kubectl --as`, `--as-group`), as upstream's impersonation filter allows it.

`kubectl auth can-i create pods --as=system:serviceaccount:<ns>:qa` is how a QA engineer checks a CI
identity's rights without holding its token. The requester needs the `impersonate` verb on the
users, groups or serviceaccounts it names, which by default only the administrator has; a denial is
the same 403 a real cluster sends.
"""

from __future__ import annotations

from collections.abc import Sequence

from kfval.embedded.apiserver.auth import AUTHENTICATED_GROUP, SERVICE_ACCOUNTS_GROUP, User, service_account_of
from kfval.embedded.apiserver.authorization import Attributes, Authorizer
from kfval.embedded.errors import BadRequestError

ANONYMOUS_USER = "system:anonymous"
UNAUTHENTICATED_GROUP = "system:unauthenticated"


def _target(user: str) -> Attributes:
    account = service_account_of(user)
    if account is not None:
        namespace, name = account
        return Attributes(
            verb="impersonate", resource_request=True, resource="serviceaccounts", namespace=namespace, name=name
        )
    return Attributes(verb="impersonate", resource_request=True, resource="users", name=user)


def _groups_of(user: str, requested: Sequence[str]) -> tuple[str, ...]:
    """Upstream's additions: a service account's own groups, and `system:authenticated` for a real user."""
    groups = list(requested)
    account = service_account_of(user)
    if account is not None and not groups:
        groups = [SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{account[0]}"]
    if user != ANONYMOUS_USER and not {AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP} & set(groups):
        groups.append(AUTHENTICATED_GROUP)
    return tuple(groups)


def impersonate(authorizer: Authorizer, requester: User, *, user: str | None, groups: Sequence[str]) -> User:
    """The identity a request acts as: `requester`, or whom its Impersonate-* headers name if it may."""
    if not user:
        if groups:
            raise BadRequestError(f"requested {list(groups)} without impersonating a user")
        return requester
    authorizer.authorize(requester, _target(user))
    for group in groups:
        authorizer.authorize(
            requester, Attributes(verb="impersonate", resource_request=True, resource="groups", name=group)
        )
    return User(user, _groups_of(user, groups))
