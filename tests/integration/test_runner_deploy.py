"""deploy/runner on the embedded cluster: its objects are accepted as they are, the Job by a server-side
dry run, and its ServiceAccount, bound by rbac.yaml, passes preflight for the Job's tags.

The in-cluster run of the Job itself (the runner image served from the project's files) is not here yet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kfval import cli
from kfval.embedded import launch
from tests.support.identities import kubeconfig_with_token
from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.integration
RUNNER = Path("deploy/runner")


@pytest.fixture
def deployed(kubectl: Kubectl) -> Iterator[None]:
    for name in ("namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "reports-pvc.yaml"):
        kubectl.run("apply", "-f", str(RUNNER / name))
    yield
    kubectl.run("delete", "-f", str(RUNNER / "rbac.yaml"), "--wait=false", check=False)
    kubectl.run("delete", "-f", str(RUNNER / "namespace.yaml"), "--wait=false", check=False)


@pytest.mark.usefixtures("deployed")
def test_the_job_is_accepted_and_its_account_may_do_what_the_jobs_tags_need(
    cluster: launch.ClusterInfo, kubectl: Kubectl, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dry_run = kubectl.run("apply", "--dry-run=server", "-f", str(RUNNER / "job.yaml"))
    assert "job.batch/kfval-run created (server dry run)" in dry_run.stdout
    token = kubectl.run("-n", "kfval-ci", "create", "token", "kfval-runner").stdout.strip()
    kubeconfig = kubeconfig_with_token(cluster, token, tmp_path / "runner.kubeconfig")
    code = cli.main(
        ["preflight", "--tags", "training", "-u", "target.kind=kubeconfig", "-u", f"target.kubeconfig={kubeconfig}"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "preflight: nothing missing" in out
