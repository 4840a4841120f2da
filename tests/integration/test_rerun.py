"""A child run of tagged scenarios: the parent's progress sink hears how many of them are done, and an
earlier run's report never speaks for this one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kfval.bdd import rerun
from kfval.embedded import launch
from tests.support.sinks import RecordingSink

pytestmark = pytest.mark.integration


def test_a_child_run_reports_its_progress_and_not_an_earlier_runs_report(
    cluster: launch.ClusterInfo, tmp_path: Path
) -> None:
    stale = [{"name": "old", "elements": [{"type": "scenario", "name": "stale", "steps": []}]}]
    (tmp_path / "cucumber.json").write_text(json.dumps(stale))
    sink = RecordingSink(interval_seconds=0.2)
    overrides = {"target.kind": "kubeconfig", "target.kubeconfig": str(cluster.kubeconfig)}
    outcome = rerun.run_tagged(
        "no-scenario-has-this-tag", overrides=overrides, reports=tmp_path, timeout=120, sink=sink
    )
    assert outcome.scenarios == (), outcome
    assert sink.shown, outcome.output_tail
    assert all(s.line().startswith("scenarios tagged no-scenario-has-this-tag: 0 scenario(s) done") for s in sink.shown)
