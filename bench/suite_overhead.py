"""How much of a feature's wall time is the suite's own, as opposed to its pods running.

Runs each feature with `kfval run` on a fresh embedded cluster, then reads the `pods_ran_seconds` the
terrain records per scenario (the union of the scenario's container run intervals) from the JUnit
report, and prints side by side: wall time, time the pods ran, and
(wall time - time the pods ran) / wall time (goal: < 5 % for every feature). It also prints each
feature's fixed cost per scenario from the Cucumber report: the `a fresh namespace for the scenario`
step (namespace create) plus the `cleanup` hook (pod times, dimensioning table, deletion until the
namespace is gone), at p50 and at most (goal: < 0.3 s), and the whole run's wall time (goal for all
five features: < 4 minutes).

    .venv/bin/python bench/suite_overhead.py [features/pytorchjob.feature ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from kfval.report import reading
from sampling import percentile

KFVAL = str(Path(sys.executable).parent / "kfval")
NAMESPACE_STEP = "a fresh namespace for the scenario"
CLEANUP_HOOK = "cleanup"
NANOSECONDS_PER_SECOND = 1e9


def fixed_costs(cucumber: Path) -> list[float]:
    """Per scenario: seconds to create its namespace plus seconds of its cleanup hook."""
    costs = []
    for feature in reading.parse(cucumber.read_text()).features:
        for scenario in feature.scenarios:
            steps = [s.result.duration_ns for s in scenario.all_steps if s.name == NAMESPACE_STEP]
            hooks = [h.result.duration_ns for h in scenario.after if h.name == CLEANUP_HOOK]
            if steps and hooks:
                costs.append((sum(steps) + sum(hooks)) / NANOSECONDS_PER_SECOND)
    return costs


def run_feature(feature: str, workdir: Path) -> tuple[float, float, int, int, list[float]]:
    """Wall seconds, pod seconds, scenarios passed, scenarios in all, fixed cost of each scenario."""
    junit = workdir / "junit.xml"
    argv = [
        KFVAL,
        "run",
        feature,
        "-u",
        f"target.state_dir={workdir / 'cluster'}",
        "-u",
        f"reports.junit={junit}",
        "-u",
        f"reports.cucumber={workdir / 'cucumber.json'}",
    ]
    started = time.monotonic()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.monotonic() - started
    cases = ET.parse(junit).getroot().findall(".//testcase")
    pods = sum(
        float(p.get("value", "0"))
        for p in ET.parse(junit).getroot().iter("property")
        if p.get("name") == "pods_ran_seconds"
    )
    passed = sum(
        1
        for case in cases
        if case.find("failure") is None and case.find("error") is None and case.find("skipped") is None
    )
    return wall, pods, passed, len(cases), fixed_costs(workdir / "cucumber.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("features", nargs="*", default=["features/pytorchjob.feature"])
    args = parser.parse_args()
    print(f"{'feature':<40}{'scenarios':>10}{'wall s':>9}{'pods ran s':>12}{'overhead':>10}{'fixed p50/max s':>17}")
    started = time.monotonic()
    for feature in args.features:
        with tempfile.TemporaryDirectory() as workdir:
            wall, pods, passed, total, fixed = run_feature(feature, Path(workdir))
        cost = f"{percentile(fixed, 0.5):.2f}/{max(fixed):.2f}" if fixed else "-"
        print(
            f"{feature:<40}{f'{passed}/{total}':>10}{wall:>9.1f}{pods:>12.1f}{(wall - pods) / wall:>9.1%}{cost:>17}",
            flush=True,
        )
    print(f"all features: {time.monotonic() - started:.0f} s wall (each on a fresh embedded cluster)")


if __name__ == "__main__":
    main()
