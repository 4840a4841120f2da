"""The serviceaccount controller through a real store: every namespace has its `default` ServiceAccount."""

from __future__ import annotations

from kfval.embedded.controllers.serviceaccount import ServiceAccountController
from tests.support.cluster import running
from tests.support.loop import on_loop
from tests.support.polling import eventually


@on_loop
async def test_every_namespace_has_a_default_service_account() -> None:
    async with running(ServiceAccountController) as h:
        accounts = h.rt("serviceaccounts")
        h.make_namespace("team")
        await eventually(lambda: h.store.exists(accounts, "team", "default"), "default ServiceAccount")
        first = h.store.get(accounts, "team", "default")["metadata"]["uid"]
        h.store.delete(accounts, "team", "default")
        again = await eventually(lambda: h.store.get(accounts, "team", "default")["metadata"]["uid"], "re-created")
        assert again != first
