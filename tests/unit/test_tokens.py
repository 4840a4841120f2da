"""Service-account tokens: who they authenticate as, and when they stop working (expiry, a deleted account)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from kfval.embedded.admission.chain import Admission
from kfval.embedded.apiserver import auth, bootstrappolicy
from kfval.embedded.apiserver.app import build_app
from kfval.embedded.errors import UnauthorizedError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ExecRequest, LogQuery
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))


@pytest.fixture
def store(clock: FakeClock) -> Store:
    made = Store(Catalog(), clock)
    made.create(made.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "team"}})
    made.create(made.catalog.lookup("", "v1", "serviceaccounts"), {"metadata": {"name": "qa"}}, namespace="team")
    bootstrappolicy.seed(made)
    return made


# -- tokens --------------------------------------------------------------------------------------


def _account(store: Store) -> Body:
    return store.get(store.catalog.lookup("", "v1", "serviceaccounts"), "team", "qa")


def test_tokens_authenticate_the_admin_and_issued_service_accounts(store: Store) -> None:
    authority = auth.TokenAuthority("admin-token", store)
    assert authority.authenticate("/api/v1/pods", "Bearer admin-token") == auth.ADMIN
    assert authority.authenticate("/readyz", None) is None
    token, _ = authority.issue(_account(store), seconds=3600)
    user = authority.authenticate("/api/v1/pods", f"Bearer {token}")
    assert user == auth.User(
        "system:serviceaccount:team:qa",
        ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"),
    )
    for header in (None, "Bearer", "Basic admin-token", "Bearer not-issued"):
        with pytest.raises(UnauthorizedError):
            authority.authenticate("/api/v1/pods", header)


def test_an_expired_token_is_refused(store: Store, clock: FakeClock) -> None:
    authority = auth.TokenAuthority("admin-token", store)
    token, expires = authority.issue(_account(store), seconds=600)
    assert expires == clock.now() + timedelta(seconds=600)
    clock.move(599)
    assert authority.user_of(token).name == "system:serviceaccount:team:qa"
    clock.move(1)
    with pytest.raises(UnauthorizedError):
        authority.user_of(token)


def test_a_token_dies_with_its_service_account_even_when_the_name_comes_back(store: Store) -> None:
    authority = auth.TokenAuthority("admin-token", store)
    accounts = store.catalog.lookup("", "v1", "serviceaccounts")
    token, _ = authority.issue(_account(store), seconds=3600)
    store.delete(accounts, "team", "qa")
    with pytest.raises(UnauthorizedError):
        authority.user_of(token)
    store.create(accounts, {"metadata": {"name": "qa"}}, namespace="team")
    with pytest.raises(UnauthorizedError):
        authority.user_of(token)


# -- over HTTP, with a clock the test moves --------------------------------------------------------


class NoLogs:
    async def read(self, query: LogQuery) -> Any:  # pragma: no cover - never asked for logs here
        raise AssertionError("no logs in this test")


class NoExec:
    async def exec(self, request: ExecRequest) -> Any:  # pragma: no cover - never asked to exec here
        raise AssertionError("no exec in this test")


async def _expiry_over_http(store: Store, clock: FakeClock) -> list[int]:
    app = build_app(
        store=store,
        admission=Admission(),
        logs=NoLogs(),
        executor=NoExec(),
        authority=auth.TokenAuthority("admin-token", store),
    )
    codes: list[int] = []
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        admin = {"Authorization": "Bearer admin-token"}
        url = server.make_url("/api/v1/namespaces/team/serviceaccounts/qa/token")
        async with session.post(url, json={"spec": {"expirationSeconds": 600}}, headers=admin) as reply:
            token = (await reply.json())["status"]["token"]
        pods = server.make_url("/api/v1/namespaces/team/pods")
        for step in (0, 600):
            clock.move(step)
            async with session.get(pods, headers={"Authorization": f"Bearer {token}"}) as reply:
                codes.append(reply.status)
    return codes


def test_over_http_a_token_is_forbidden_while_valid_and_unauthorized_once_expired(
    store: Store, clock: FakeClock
) -> None:
    assert asyncio.run(_expiry_over_http(store, clock)) == [403, 401]


async def _reviews_over_http(store: Store) -> list[tuple[int, Any]]:
    app = build_app(
        store=store,
        admission=Admission(),
        logs=NoLogs(),
        executor=NoExec(),
        authority=auth.TokenAuthority("admin-token", store),
    )
    as_qa = {"Authorization": "Bearer admin-token", "Impersonate-User": "system:serviceaccount:team:qa"}
    url = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    question = {"resourceAttributes": {"namespace": "team", "verb": "list", "resource": "pods"}}
    replies: list[tuple[int, Any]] = []
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        for spec in (question, {}):
            async with session.post(server.make_url(url), json={"spec": spec}, headers=as_qa) as reply:
                body = await reply.json()
                replies.append((reply.status, body.get("status") if reply.status == 201 else body["message"]))
    return replies


def test_an_access_review_answers_for_the_impersonated_caller_and_needs_a_question(store: Store) -> None:
    assert asyncio.run(_reviews_over_http(store)) == [
        (201, {"allowed": False}),
        (
            422,
            'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: '
            '"null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
        ),
    ]
