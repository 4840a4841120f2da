"""List pagination: `limit` and `continue` tokens as the API server hands them out, and their errors."""

from __future__ import annotations

import pytest

from kfval.embedded.apiserver import paging
from kfval.embedded.errors import BadRequestError, GoneError
from kfval.embedded.store.history import History
from kfval.embedded.types import Body, ResourceKey, WatchEvent


def _items(*names: str) -> list[Body]:
    return [{"metadata": {"namespace": "demo", "name": name}} for name in names]


def test_a_page_hands_out_a_token_until_the_last_item() -> None:
    history = History()
    items = _items("a", "b", "c")
    first = paging.paginate(items, 1000, limit=2, token="", history=history)
    assert [i["metadata"]["name"] for i in first.items] == ["a", "b"]
    assert first.list_metadata()["remainingItemCount"] == 1
    rest = paging.paginate(items, 1005, limit=2, token=first.token, history=history)
    assert [i["metadata"]["name"] for i in rest.items] == ["c"]
    assert rest.resource_version == 1000
    assert rest.list_metadata() == {"resourceVersion": "1000"}


def test_a_token_order_follows_namespace_then_name() -> None:
    items = [{"metadata": {"namespace": ns, "name": "x"}} for ns in ("a", "a-b", "b")]
    first = paging.paginate(items, 1000, limit=1, token="", history=History())
    rest = paging.paginate(items, 1000, limit=5, token=first.token, history=History())
    assert [i["metadata"]["namespace"] for i in rest.items] == ["a-b", "b"]


def test_bad_and_expired_tokens() -> None:
    with pytest.raises(BadRequestError, match="continue key is not valid"):
        paging.paginate(_items("a"), 1000, limit=1, token="%%%", history=History())
    history = History(window=2)
    token = paging.Cursor(1000, "demo\x00a").encode()
    for _ in range(3):  # a full window forgets the oldest events, as etcd compaction does
        version = history.next_version()
        history.record(WatchEvent("ADDED", {}, version, ResourceKey("", "configmaps")))
    with pytest.raises(GoneError, match="too old to display a consistent list"):
        paging.paginate(_items("a", "b"), 1003, limit=1, token=token, history=history)
    with pytest.raises(BadRequestError):
        paging.parse_limit("ten")
    assert paging.parse_limit("-1") == 0
