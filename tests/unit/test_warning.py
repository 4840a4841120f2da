"""Warnings reach the client of the request that caused them, once each, as kube-apiserver sends them."""

from __future__ import annotations

import asyncio

from kfval.embedded import warning


def test_warnings_are_collected_per_request_once_each_and_dropped_outside_one() -> None:
    warning.add("nobody hears this")
    with warning.collecting() as collected:
        warning.add("spec.elasticPolicy.nProcPerNode is deprecated, use spec.nprocPerNode instead")
        warning.add("spec.elasticPolicy.nProcPerNode is deprecated, use spec.nprocPerNode instead")
        warning.add('unknown field "spec.extra"')
    assert collected == [
        "spec.elasticPolicy.nProcPerNode is deprecated, use spec.nprocPerNode instead",
        'unknown field "spec.extra"',
    ]


def test_concurrent_requests_keep_their_own_warnings() -> None:
    async def request(name: str, pause: float) -> list[str]:
        with warning.collecting() as collected:
            warning.add(f"{name} first")
            await asyncio.sleep(pause)
            warning.add(f"{name} second")
        return collected

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(request("a", 0.01), request("b", 0)))

    assert asyncio.run(both()) == [["a first", "a second"], ["b first", "b second"]]


def test_the_header_value_quotes_the_text_as_rfc_7234_warn_text() -> None:
    assert warning.header_value('unknown field "spec.x"') == '299 - "unknown field \\"spec.x\\""'
