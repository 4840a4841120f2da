"""deploy/runner on the embedded cluster: its objects are accepted as they are, the Job by a server-side
dry run, and its ServiceAccount, bound by rbac.yaml, passes preflight for the Job's tags.

Then the Job itself runs inside the cluster: the runner image from the project's files, the suite as a
pod with `target.in_cluster = true`, its ServiceAccount's projected token and the cluster's
KUBERNETES_SERVICE_HOST/PORT; RBAC applies to it, so a call the generated role lacks fails the run.
Its reports come back from the claim's volume and validate."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kfval import cli
from kfval.embedded import launch
from kfval.report import cucumber
from tests.support.identities import kubeconfig_with_token
from tests.support.kubectl import Kubectl
from tests.support.schemas import schema_errors

pytestmark = pytest.mark.integration
RUNNER = Path("deploy/runner")
QUICK_TRAINING = "training and not mnist"
"""The training scenarios that submit quick jobs: wiring, failures, refusals and clean pod policies."""
RUN_TIMEOUT_SECONDS = 420


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


def _job_for(tags: str) -> str:
    """deploy/runner/job.yaml as it is, running the scenarios of `tags`."""
    job = yaml.safe_load((RUNNER / "job.yaml").read_text())
    job["spec"]["template"]["spec"]["containers"][0]["args"] = ["--tags", tags]
    return yaml.safe_dump(job)


def _claim_directory(kubectl: Kubectl) -> Path:
    """Where the embedded cluster keeps the reports claim: its bound PersistentVolume's hostPath."""
    volume = kubectl.run("-n", "kfval-ci", "get", "pvc", "kfval-reports", "-o", "jsonpath={.spec.volumeName}").stdout
    return Path(kubectl.run("get", "pv", volume, "-o", "jsonpath={.spec.hostPath.path}").stdout)


@pytest.mark.usefixtures("deployed")
def test_the_job_runs_the_quick_training_scenarios_inside_the_cluster(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=_job_for(QUICK_TRAINING))
    waited = kubectl.run(
        "-n",
        "kfval-ci",
        "wait",
        "job/kfval-run",
        "--for=condition=Complete",
        f"--timeout={RUN_TIMEOUT_SECONDS}s",
        check=False,
        timeout=RUN_TIMEOUT_SECONDS + 30,
    )
    log = kubectl.run("-n", "kfval-ci", "logs", "job/kfval-run", check=False).stdout
    assert waited.returncode == 0, waited.stderr + log
    pod = json.loads(kubectl.run("-n", "kfval-ci", "get", "pods", "-l", "job-name=kfval-run", "-o", "json").stdout)
    spec = pod["items"][0]["spec"]
    assert spec["serviceAccountName"] == "kfval-runner"
    assert any(v["name"].startswith("kube-api-access-") for v in spec["volumes"])
    assert "(context 'in-cluster')" in log, log

    reports = _claim_directory(kubectl)
    document = json.loads((reports / "cucumber.json").read_text())
    assert schema_errors(document, cucumber.Dialect.JVM) == []
    statuses = [step["result"]["status"] for f in document for e in f["elements"] for step in e["steps"]]
    assert statuses and set(statuses) == {"passed"}, statuses
    features = {feature["name"] for feature in document}
    assert any("PyTorch" in name for name in features) and any("TensorFlow" in name for name in features), features
    cases = list(ET.parse(reports / "junit.xml").getroot().iter("testcase"))
    assert len(cases) == len([e for f in document for e in f["elements"] if e["type"] == "scenario"])
    assert all(case.find("failure") is None for case in cases)
