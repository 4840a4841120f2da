"""What the bench scripts share: percentiles, paired samples in one scenario namespace, the side-by-side table.

Each bench times the suite's path beside a baseline doing the same work without it. Samples
alternate between the two sides so that a slow moment of the machine lands on both, and the
table always prints both sides and their ratio at p50, which is what a target is stated in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from kfval.kube.client import Connection
from kfval.kube.session import RunScope, ScenarioSession
from kfval.report.redaction import Redactor

TIMEOUT_SECONDS = 180.0


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@contextlib.contextmanager
def scenario_session(conn: Connection, name: str) -> Iterator[ScenarioSession]:
    """A scenario namespace as the suite makes one, deleted (and waited for) afterwards."""
    scope = RunScope(conn=conn, run_id="bench", namespace_prefix="bench", secrets=Redactor())
    session = ScenarioSession(scope, name)
    session.open()
    try:
        yield session
    finally:
        session.close(timeout_seconds=TIMEOUT_SECONDS)


def alternate(
    samples: int, suite: tuple[str, Callable[[str], float]], baseline: tuple[str, Callable[[str], float]]
) -> tuple[list[float], list[float]]:
    """`samples` timings of each side, taken in turn; each call gets a name of its own (`s0`, `s1`, ...)."""
    suite_times: list[float] = []
    baseline_times: list[float] = []
    for index in range(samples):
        suite_times.append(suite[1](f"s{index}"))
        baseline_times.append(baseline[1](f"b{index}"))
        print(
            f"sample {index + 1}/{samples}: {suite[0]} {suite_times[-1]:.2f} s, "
            f"{baseline[0]} {baseline_times[-1]:.2f} s"
        )
    return suite_times, baseline_times


def print_side_by_side(heading: str, suite: tuple[str, list[float]], baseline: tuple[str, list[float]]) -> None:
    width = max(len(heading), len(suite[0]), len(baseline[0])) + 2
    print(f"{heading:<{width}}{'p50 s':>8}{'p90 s':>8}")
    for label, times in (suite, baseline):
        print(f"{label:<{width}}{percentile(times, 0.5):>8.2f}{percentile(times, 0.9):>8.2f}")
    ratio = percentile(suite[1], 0.5) / percentile(baseline[1], 0.5)
    print(f"ratio ({suite[0]} / {baseline[0]}, p50): {ratio:.2f}x")
