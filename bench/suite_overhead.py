"""How much of a feature's wall time is the suite's own, as opposed to its pods running.

Runs each feature with `kfval run` on a fresh embedded cluster, then reads the `pods_ran_seconds` the
terrain records per scenario (the union of the scenario's container run intervals, pods it deleted
included) from the JUnit report, and prints side by side: wall time, time the pods ran, and
(wall time - time the pods ran) / wall time (goal: < 5 % for every feature). The wall time is split
in three, from the run's own lines: `start` (the command's start to `kfval run <id> against`: imports,
feature checks, the embedded cluster's boot, preflight), the scenarios, and `end` (radish's
`finished within` line to exit: awaiting the namespaces' deletion, stopping the cluster, the summary);
`in scenarios` is the overhead of the scenarios alone, what a run against a cluster that is already up
pays. Pod times come from the API's whole-second timestamps, so a feature's figure moves by up to a
second per scenario from run to run. It also prints each feature's fixed cost per scenario from the
Cucumber report: the `a fresh namespace for the scenario` step (namespace create) plus the `cleanup`
hook (pod times, dimensioning table, asking for the deletion), at p50 and at most (goal: < 0.3 s), and
the whole run's wall time (goal for all five features: < 4 minutes).

    .venv/bin/python bench/suite_overhead.py [features/pytorchjob.feature ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from kfval.report import reading
from sampling import percentile

KFVAL = str(Path(sys.executable).parent / "kfval")
NAMESPACE_STEP = "a fresh namespace for the scenario"
CLEANUP_HOOK = "cleanup"
NANOSECONDS_PER_SECOND = 1e9
STARTED_LINE = "kfval run r"
"""The run's first line once connected (and past preflight): `kfval run <id> against <server>`."""
FINISHED_LINE = "finished within"
"""radish's last line after the last scenario: `Run <id> finished within <n> seconds`."""


def failures(cucumber: Path) -> list[str]:
    """`scenario: first line of its error` for each scenario that failed: a bench figure of a failed run is
    no figure, and the reason goes with the run's temporary folder."""
    found = []
    for feature in reading.parse(cucumber.read_text()).features:
        for scenario in feature.scenarios:
            failed = scenario.failure
            if failed is not None:
                message = (failed.result.error_message or "").strip().splitlines() or ["(no message)"]
                found.append(f"{scenario.name}: {message[0]}")
    return found


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


@dataclass(frozen=True)
class FeatureRun:
    wall: float
    start: float
    end: float
    pods: float
    passed: int
    total: int
    fixed: list[float]
    failures: list[str]


def run_feature(feature: str, workdir: Path) -> FeatureRun:
    """Run one feature; its wall time split at the run's own lines, its pod time and fixed costs."""
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
        "-u",
        "console.progress=false",
    ]
    started = time.monotonic()
    stamps: dict[str, float] = {}
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            for marker in (STARTED_LINE, FINISHED_LINE):
                if marker in line:
                    stamps.setdefault(marker, time.monotonic() - started)
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
    start, finish = stamps.get(STARTED_LINE, 0.0), stamps.get(FINISHED_LINE, wall)
    fixed = fixed_costs(workdir / "cucumber.json")
    return FeatureRun(wall, start, wall - finish, pods, passed, len(cases), fixed, failures(workdir / "cucumber.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("features", nargs="*", default=["features/pytorchjob.feature"])
    args = parser.parse_args()
    print(
        f"{'feature':<40}{'scenarios':>10}{'wall s':>8}{'start s':>9}{'end s':>7}{'pods ran s':>12}"
        f"{'overhead':>10}{'in scenarios':>14}{'fixed p50/max s':>17}"
    )
    started = time.monotonic()
    for feature in args.features:
        with tempfile.TemporaryDirectory() as workdir:
            run = run_feature(feature, Path(workdir))
        cost = f"{percentile(run.fixed, 0.5):.2f}/{max(run.fixed):.2f}" if run.fixed else "-"
        scenarios = run.wall - run.start - run.end
        print(
            f"{feature:<40}{f'{run.passed}/{run.total}':>10}{run.wall:>8.1f}{run.start:>9.1f}{run.end:>7.1f}"
            f"{run.pods:>12.1f}{(run.wall - run.pods) / run.wall:>9.1%}{(scenarios - run.pods) / scenarios:>13.1%}"
            f"{cost:>17}",
            flush=True,
        )
        for failure in run.failures:
            print(f"    failed: {failure}", flush=True)
    print(f"all features: {time.monotonic() - started:.0f} s wall (each on a fresh embedded cluster)")


if __name__ == "__main__":
    main()
