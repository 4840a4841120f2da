"""`kfval janitor --run-id` refuses, before it connects, a run id no run could have had: a typo must not
select another run's objects (or none, and report a clean cluster)."""

from __future__ import annotations

import pytest

from kfval import janitoring, settings
from kfval.kube import session
from kfval.kube.errors import SetupError


@pytest.mark.parametrize("run_id", ["", "bad id", "r1a2b", "R1A2B3C4D", "r1a2b3c4d5", "kfval-r1a2b3c4d-1"])
def test_a_run_id_no_run_could_have_is_refused_before_connecting(run_id: str) -> None:
    config = settings.Settings(target=settings.Target(kind="kubeconfig", kubeconfig=None))
    with pytest.raises(SetupError, match=r"is not a run id: a run prints its id \(r and 8 hex digits"):
        janitoring.sweep(run_id, config, embedded_kubeconfig=None)


def test_every_new_run_id_is_a_run_id() -> None:
    assert all(session.is_run_id(session.new_run_id()) for _ in range(100))
