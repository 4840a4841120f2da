"""How much of a feature's wall time is the suite's own, as opposed to its pods running.

Runs each feature with `kfval run` on a fresh embedded cluster, then reads the `pods_ran_seconds` the
terrain records per scenario (the union of the scenario's container run intervals) from the JUnit
report, and prints side by side: wall time, time the pods ran, and
(wall time - time the pods ran) / wall time. Goal: < 10 % for the PyTorchJob feature.

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

KFVAL = str(Path(sys.executable).parent / "kfval")


def run_feature(feature: str, workdir: Path) -> tuple[float, float, int, int]:
    """Wall seconds, pod seconds, scenarios passed, scenarios in all."""
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
    return wall, pods, passed, len(cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("features", nargs="*", default=["features/pytorchjob.feature"])
    args = parser.parse_args()
    print(f"{'feature':<34}{'scenarios':>10}{'wall s':>9}{'pods ran s':>12}{'overhead':>10}")
    for feature in args.features:
        with tempfile.TemporaryDirectory() as workdir:
            wall, pods, passed, total = run_feature(feature, Path(workdir))
        print(f"{feature:<34}{f'{passed}/{total}':>10}{wall:>9.1f}{pods:>12.1f}{(wall - pods) / wall:>9.1%}")


if __name__ == "__main__":
    main()
