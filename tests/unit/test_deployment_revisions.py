"""The revision bookkeeping of the deployment controller, as upstream's SetNewReplicaSetAnnotations does it."""

from __future__ import annotations

from kfval.embedded.controllers import deployment

CAUSE = "kubernetes.io/change-cause"


def _deployment(**annotations: str) -> dict[str, object]:
    return {"metadata": {"name": "web", "annotations": annotations}}


def test_a_new_replicaset_takes_the_revision_and_the_deployments_own_annotations() -> None:
    made = deployment.new_replicaset_annotations(
        _deployment(
            **{
                CAUSE: "kubectl set image",
                deployment.REVISION: "4",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
            }
        ),
        {},
        "5",
    )
    assert made == {CAUSE: "kubectl set image", deployment.REVISION: "5"}


def test_a_rollback_keeps_the_old_revision_in_the_history() -> None:
    first = deployment.new_replicaset_annotations(_deployment(), {deployment.REVISION: "1"}, "3")
    assert first[deployment.REVISION] == "3"
    assert first[deployment.REVISION_HISTORY] == "1"
    again = deployment.new_replicaset_annotations(_deployment(), first, "5")
    assert (again[deployment.REVISION], again[deployment.REVISION_HISTORY]) == ("5", "1,3")


def test_the_revision_never_goes_back() -> None:
    kept = deployment.new_replicaset_annotations(_deployment(), {deployment.REVISION: "7"}, "3")
    assert kept == {deployment.REVISION: "7"}


def test_the_history_drops_its_oldest_entries_past_2000_characters() -> None:
    long_history = ",".join(str(n) for n in range(1000, 1400))  # 400 entries of 4 digits: 1,999 characters
    made = deployment.new_replicaset_annotations(
        _deployment(), {deployment.REVISION: "1400", deployment.REVISION_HISTORY: long_history}, "1401"
    )
    history = made[deployment.REVISION_HISTORY].split(",")
    assert history[-1] == "1400"
    assert history[0] == "1001"
    assert len(made[deployment.REVISION_HISTORY]) <= 2000
