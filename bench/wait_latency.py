"""How late a kfval wait notices a change, next to a one-second polling loop, in one run.

A step's duration should be the workload's, not the wait's: a watch-based wait returns when the
watch delivers the change, a polling wait up to one interval later. This starts the embedded
cluster, then for N transitions patches a ConfigMap's label from a second connection (a write
whose send time we take ourselves, after a pause drawn uniformly over one poll interval) while the
main thread waits for that label, once with `waiting.wait_until` and once with a loop that GETs
every second. It prints p50 and p99 of the delay from sending the patch to the wait returning (so
the figures include the write's own round trip, printed too), and the ratio. Goal: kfval's p99 <
100 ms.

    .venv/bin/python bench/wait_latency.py [--samples 100] [--poll-samples 30]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from kfval.embedded import launch
from kfval.kube import checks, waiting
from kfval.kube.client import Body, Connection, connect
from sampling import percentile

POLL_INTERVAL_SECONDS = 1.0
NAMESPACE = "bench-wait"


def has_step(value: str) -> Callable[[Mapping[str, Body]], checks.Verdict]:
    def check(objects: Mapping[str, Body]) -> checks.Verdict:
        labels = (objects.get("cm", {}).get("metadata") or {}).get("labels") or {}
        return checks.Verdict(done=labels.get("step") == value, failure=None, waiting_for=f"step={value}")

    return check


class Writer:
    """Patches the ConfigMap from its own connection after a random pause, timing the write."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sent = 0.0
        self.round_trip = 0.0

    def later(self, value: str) -> threading.Thread:
        thread = threading.Thread(target=self._write, args=(value,), daemon=True)
        thread.start()
        return thread

    def _write(self, value: str) -> None:
        time.sleep(random.uniform(0.05, 0.05 + POLL_INTERVAL_SECONDS))  # no phase lock with the poll's ticks
        self.sent = time.monotonic()
        self.conn.patch("v1", "ConfigMap", "cm", NAMESPACE, {"metadata": {"labels": {"step": value}}})
        self.round_trip = time.monotonic() - self.sent


def kfval_wait(conn: Connection, value: str) -> None:
    waiting.wait_until(
        conn,
        api_version="v1",
        kind="ConfigMap",
        namespace=NAMESPACE,
        name="cm",
        check=has_step(value),
        timeout_seconds=30,
        what=f"the label step={value}",
    )


def polling_wait(conn: Connection, value: str) -> None:
    check = has_step(value)
    while not check({"cm": conn.get("v1", "ConfigMap", "cm", NAMESPACE)}).done:
        time.sleep(POLL_INTERVAL_SECONDS)


def measure(
    conn: Connection, writer: Writer, wait: Callable[[Connection, str], None], *, samples: int
) -> tuple[list[float], list[float]]:
    """Per transition: ms from sending the patch to the wait returning, and the patch's round trip."""
    delays, writes = [], []
    for _ in range(samples):
        value = f"{random.getrandbits(48):x}"
        thread = writer.later(value)
        wait(conn, value)
        returned = time.monotonic()
        thread.join()
        delays.append((returned - writer.sent) * 1000)
        writes.append(writer.round_trip * 1000)
    return delays, writes


def report(kfval: list[float], polling: list[float], writes: list[float]) -> None:
    print(f"{'delay from patch sent to wait returning':<44}{'p50 ms':>10}{'p99 ms':>10}")
    for label, samples in (
        ("kfval watch-based wait", kfval),
        ("1 s polling loop", polling),
        ("(patch round trip)", writes),
    ):
        print(f"{label:<44}{percentile(samples, 0.5):>10.1f}{percentile(samples, 0.99):>10.1f}")
    p50 = percentile(polling, 0.5) / percentile(kfval, 0.5)
    p99 = percentile(polling, 0.99) / percentile(kfval, 0.99)
    print(f"polling / kfval: p50 x{p50:.1f}, p99 x{p99:.1f}")
    verdict = "met" if percentile(kfval, 0.99) < 100 else "MISSED"
    print(f"goal kfval p99 < 100 ms: {verdict} ({len(kfval)} kfval samples, {len(polling)} polling samples)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--poll-samples", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfval-bench-") as scratch:
        state_dir = Path(scratch) / "cluster"
        info = launch.start(state_dir, die_with_parent=True)
        try:
            conn = connect(kubeconfig=info.kubeconfig, context=None, in_cluster=False, cache_dir=Path(scratch) / "a")
            writer = Writer(
                connect(kubeconfig=info.kubeconfig, context=None, in_cluster=False, cache_dir=Path(scratch) / "b")
            )
            conn.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            conn.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}, NAMESPACE)
            measure(conn, writer, kfval_wait, samples=5)  # warm up discovery caches and connection pools
            kfval, writes = measure(conn, writer, kfval_wait, samples=args.samples)
            polling, _ = measure(conn, writer, polling_wait, samples=args.poll_samples)
            report(kfval, polling, writes)
            conn.close()
            writer.conn.close()
        finally:
            launch.stop(state_dir)


if __name__ == "__main__":
    main()
