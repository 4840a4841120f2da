"""Riding out API outages (kfval.kube.outages) on a fake clock: pauses, the bound, the cleanup's deadline,
a cluster that is gone, and the record each outage leaves for the step's evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kfval.kube import errors, outages

SERVER = "https://127.0.0.1:6443"
REFUSED = ConnectionRefusedError(111, "Connection refused")


class FakeTime:
    """Monotonic seconds that move only when the code under test sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def wall(self) -> datetime:
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=self.now - 1000.0)


def riding(fake: FakeTime, *, bound: float = 10.0, vanished: outages.Vanished | None = None) -> outages.Outages:
    ridden = outages.Outages(
        SERVER, "ctx", bound_seconds=bound, vanished=vanished, clock=fake.clock, sleep=fake.sleep, wall_clock=fake.wall
    )
    ridden.answered()  # the run's first request reached the server
    return ridden


def test_a_server_that_never_answered_is_unreachable_at_once() -> None:
    fake = FakeTime()
    ridden = outages.Outages(SERVER, "ctx", clock=fake.clock, sleep=fake.sleep, wall_clock=fake.wall)
    with pytest.raises(errors.ClusterUnreachableError) as raised:
        ridden.failed("list the API versions", REFUSED, since=fake.now)
    assert not isinstance(raised.value, errors.ApiOutageError)
    assert SERVER in str(raised.value) and "Connection refused" in str(raised.value)
    assert fake.slept == []


def test_pauses_double_up_to_the_longest_pause() -> None:
    fake = FakeTime()
    ridden = riding(fake, bound=60.0)
    for _ in range(6):
        ridden.failed("get pod", REFUSED, since=fake.now)
    assert fake.slept == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_retry_after_sets_the_pause() -> None:
    fake = FakeTime()
    ridden = riding(fake, bound=60.0)
    ridden.failed("list pods", REFUSED, since=fake.now, retry_after=3.0)
    ridden.failed("list pods", REFUSED, since=fake.now, retry_after=0.0)
    assert fake.slept == [3.0, outages.FIRST_PAUSE_SECONDS]


def test_an_outage_that_ends_is_recorded_with_its_start_length_and_retries() -> None:
    fake = FakeTime()
    ridden = riding(fake)
    started = fake.now - 2.0  # the request that failed first was sent two seconds ago (a read timeout)
    ridden.failed("watch pods", TimeoutError("read timed out"), since=started)
    ridden.failed("list pods", REFUSED, since=fake.now)
    ridden.failed("list pods", REFUSED, since=fake.now)
    ridden.answered()
    [outage] = ridden.drain()
    assert outage.over
    assert outage.started_at == fake.wall() - timedelta(seconds=fake.now - started)
    assert outage.seconds == pytest.approx(2.0 + 0.25 + 0.5 + 1.0)
    assert outage.retried == (("watch pods", 1), ("list pods", 2))
    text = outage.describe()
    assert "then it answered again" in text and "list pods (failed 2x)" in text
    assert "ConnectionRefusedError" in text
    assert ridden.drain() == []


def test_an_outage_still_going_on_is_drained_once_per_new_failure() -> None:
    fake = FakeTime()
    ridden = riding(fake, bound=60.0)
    ridden.failed("get pod", REFUSED, since=fake.now)
    [going] = ridden.drain()
    assert not going.over and "still did not answer" in going.describe()
    assert ridden.drain() == []
    ridden.answered()
    [ended] = ridden.drain()
    assert ended.over


def test_an_outage_longer_than_the_bound_names_server_time_and_last_error() -> None:
    fake = FakeTime()
    ridden = riding(fake, bound=5.0)
    with pytest.raises(errors.ApiOutageError) as raised:
        for _ in range(100):
            ridden.failed("get PyTorchJob mnist", REFUSED, since=fake.now)
    message = str(raised.value)
    assert SERVER in message and "timeouts.api_outage (5 s)" in message
    assert "unreachable for 5.0 s" in message
    assert "last error: ConnectionRefusedError: [Errno 111] Connection refused" in message
    assert "get PyTorchJob mnist" in message
    assert sum(fake.slept) == pytest.approx(5.0)  # the last pause is cut to the bound, not beyond it


def test_cleanup_rides_out_until_its_own_deadline_instead_of_the_bound() -> None:
    fake = FakeTime()
    ridden = riding(fake, bound=5.0)
    with ridden.until(fake.now + 20.0, name="the cleanup's deadline"), pytest.raises(errors.ApiOutageError) as raised:
        for _ in range(100):
            ridden.failed("delete Namespace x", REFUSED, since=fake.now)
    assert "the cleanup's deadline" in str(raised.value)
    assert sum(fake.slept) == pytest.approx(20.0)
    with pytest.raises(errors.ApiOutageError, match=r"timeouts\.api_outage"):
        ridden.failed("get pod", REFUSED, since=fake.now)  # outside the block, the bound is back


def test_a_vanished_cluster_fails_at_once_saying_it_is_gone() -> None:
    fake = FakeTime()
    ridden = riding(fake, bound=60.0, vanished=lambda: "the embedded cluster's process (pid 42) is dead")
    with pytest.raises(errors.ClusterGoneError) as raised:
        ridden.failed("watch pods", REFUSED, since=fake.now)
    assert "the cluster is gone" in str(raised.value) and "pid 42" in str(raised.value)
    assert fake.slept == []


def test_a_live_cluster_is_asked_and_waited_for() -> None:
    fake = FakeTime()
    asked: list[bool] = []

    def alive() -> str | None:
        asked.append(True)
        return None

    ridden = riding(fake, vanished=alive)
    ridden.failed("get pod", REFUSED, since=fake.now)
    assert asked and fake.slept == [0.25]
