"""Kaniko builds driven by real kubectl: a Job shaped as Fairing's builder, context on a PVC, credentials
at /kaniko/.docker; the pushed image checked with skopeo and run; failures in Kaniko's words and codes."""

from __future__ import annotations

import hashlib
import json
import string
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfval.embedded import launch
from tests.support import registry as reg
from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).parent / "manifests" / "kaniko"
BUILD_TIMEOUT_SECONDS = 120
PUSH_PERMISSION = (
    "error checking push permissions -- make sure you entered the correct tag name, "
    "and that you are authenticated correctly, and try again"
)


@dataclass
class Builds:
    """A namespace with the build contexts on a claim, and credentials Secrets for the builder."""

    kubectl: Kubectl
    namespace: str
    registry: launch.RegistryInfo

    def render(self, manifest: str, **values: str) -> str:
        text = (MANIFESTS / manifest).read_text()
        return string.Template(text).safe_substitute(REGISTRY=self.registry.name, **values)

    def apply(self, text: str) -> None:
        self.kubectl.run("-n", self.namespace, "apply", "-f", "-", stdin=text)

    def get(self, *args: str) -> str:
        return self.kubectl.run("-n", self.namespace, "get", *args).stdout

    def build(
        self, args: list[str], *, tag: str = "v1.23.2", secret: str = "kaniko-docker-config"
    ) -> dict[str, object]:
        """Run a builder Job to its end; its pod's container status."""
        name = f"build-{uuid.uuid4().hex[:6]}"
        self.apply(self.render("builder-job.yaml", NAME=name, TAG=tag, ARGS=json.dumps(args), SECRET=secret))

        def finished() -> dict[str, object] | None:
            pods = json.loads(self.get("pods", "-l", f"job-name={name}", "-o", "json"))["items"]
            phase = pods[0].get("status", {}).get("phase") if pods else None
            return pods[0] if phase in ("Succeeded", "Failed") else None

        pod = eventually_blocking(finished, f"builder Job {name} to finish", timeout=BUILD_TIMEOUT_SECONDS)
        status: dict[str, object] = pod["status"]["containerStatuses"][0]  # type: ignore[index]
        status["phase"] = pod["status"]["phase"]  # type: ignore[index]
        status["log"] = self.kubectl.run("-n", self.namespace, "logs", pod["metadata"]["name"], "-c", "kaniko").stdout  # type: ignore[index]
        status["job"] = name
        return status

    def pull_secret(self, name: str) -> None:
        """A `kubernetes.io/dockerconfigjson` Secret for the registry, made as users make it."""
        registry = self.registry
        self.kubectl.run(
            "-n", self.namespace, "create", "secret", "docker-registry", name, f"--docker-server={registry.name}",
            f"--docker-username={registry.username}", f"--docker-password={registry.password}",
        )  # fmt: skip

    def destination(self, repository: str) -> str:
        return f"{self.registry.name}/{self.namespace}/{repository}"


@pytest.fixture(scope="module")
def builds(cluster: launch.ClusterInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    assert cluster.registry is not None, "the cluster started without its registry (see cluster.log)"
    kubectl = Kubectl(cluster.kubeconfig, tmp_path_factory.mktemp("kube-cache"))
    namespace = f"kaniko-{uuid.uuid4().hex[:6]}"
    kubectl.run("create", "namespace", namespace)
    builds = Builds(kubectl, namespace, cluster.registry)
    builds.apply(builds.render("context.yaml"))
    for name, config in (
        ("kaniko-docker-config", reg.docker_config(cluster.registry, plain=True)),
        ("kaniko-wrong-config", reg.docker_config(cluster.registry, password="not-the-password")),
    ):
        kubectl.run("-n", namespace, "create", "secret", "generic", name, f"--from-literal=config.json={config}")
    eventually_blocking(
        lambda: builds.get("pod", "context-writer", "-o", "jsonpath={.status.phase}") == "Succeeded",
        "the build contexts to be written",
        timeout=60,
    )
    yield builds
    kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)


def _build_leftovers() -> set[str]:
    """What buildah and skopeo leave on the host when run outside a sandbox."""
    found = {
        f"/var/tmp/{entry.name}"
        for entry in Path("/var/tmp").glob("*")
        if entry.name.startswith(("buildah", "storage"))
    }
    containers = Path("/var/lib/containers")
    return found | ({str(entry) for entry in containers.rglob("*")} if containers.exists() else set())


def test_fairing_build_pushes_an_image_that_runs(builds: Builds) -> None:
    destination = builds.destination("fairing-job:EBB8053D")
    args = ["--dockerfile=Dockerfile", f"--destination={destination}", "--context=dir:///mnt/context/app"]
    args += ["--digest-file=/dev/termination-log"]
    before = _build_leftovers()
    status = builds.build(args)
    assert _build_leftovers() == before, "the build left files in the host's /var/tmp or /var/lib/containers"
    log = str(status["log"])
    assert status["phase"] == "Succeeded", log
    digest = status["state"]["terminated"]["message"]  # type: ignore[index]
    assert reg.inspect(builds.registry, f"{builds.namespace}/fairing-job:EBB8053D")["Digest"] == digest
    _status, headers, raw = reg.get(
        builds.registry,
        f"/v2/{builds.namespace}/fairing-job/manifests/EBB8053D",
        auth=(builds.registry.username, builds.registry.password),
    )
    assert headers["Docker-Content-Digest"] == digest
    assert hashlib.sha256(raw).hexdigest() == digest.split(":", 1)[1]
    manifest = json.loads(raw)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    base = reg.inspect(builds.registry, "base/python:3.11", raw=True)
    assert manifest["layers"][: len(base["layers"])] == base["layers"]
    assert len(manifest["layers"]) > len(base["layers"])
    config = reg.inspect(builds.registry, f"{builds.namespace}/fairing-job@{digest}", config=True)["config"]
    assert config["User"] == "1000"
    assert config["WorkingDir"] == "/app/"
    assert "FAIRING_RUNTIME=1" in config["Env"]
    assert config["Cmd"] == ["python3", "/app/main.py"]
    for line in (
        "Retrieving image manifest gcr.io/kubeflow-images-public/fairing:dev",
        "RUN echo built-by-kaniko > /app/marker",
        f"Pushing image to {destination}",
        f"Pushed {builds.destination('fairing-job')}@{digest}",
    ):
        assert f"] {line}\n" in log, log
    _run_the_image(builds, f"{destination}", digest)


def _run_the_image(builds: Builds, image: str, digest: str) -> None:
    builds.pull_secret("pull")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "built"},
        "spec": {"restartPolicy": "Never", "imagePullSecrets": [{"name": "pull"}],
                 "containers": [{"name": "main", "image": image}]},
    }  # fmt: skip
    builds.apply(json.dumps(pod))
    eventually_blocking(
        lambda: builds.get("pod", "built", "-o", "jsonpath={.status.phase}") == "Succeeded",
        "the built image to run",
        timeout=60,
    )
    lines = builds.kubectl.run("-n", builds.namespace, "logs", "built").stdout.splitlines()
    assert lines == ["uid 1000 home /home/jovyan cwd /app marker built-by-kaniko", "runtime 1 python 3"]
    image_id = builds.get("pod", "built", "-o", "jsonpath={.status.containerStatuses[0].imageID}")
    assert image_id.endswith(f"@{digest}")
    hosts = builds.kubectl.run("-n", builds.namespace, "exec", "built", "--", "true", check=False)
    assert hosts.returncode != 0  # the pod has finished: exec is refused, as on a node


def test_a_tarball_context_with_stages_build_args_target_and_labels(builds: Builds) -> None:
    destination = builds.destination("stages:1")
    args = ["--context=tar:///mnt/context/out/stages.tar.gz", f"--destination={destination}", "--target", "final"]
    args += ["--build-arg", "GREETING=hi", "--label=org.kubeflow.team=ml", "--verbosity=warn"]
    args += ["--image-name-with-digest-file=/mnt/context/out/stages-names"]
    status = builds.build(args)
    assert status["phase"] == "Succeeded", status["log"]
    assert "INFO" not in str(status["log"]), "--verbosity=warn hides Kaniko's info lines"
    config = reg.inspect(builds.registry, f"{builds.namespace}/stages:1", config=True)["config"]
    assert config["Labels"]["org.kubeflow.team"] == "ml"
    assert config["Cmd"] == ["cat", "/greeting"]
    digest = reg.inspect(builds.registry, f"{builds.namespace}/stages:1")["Digest"]
    volume = builds.get("pvc", "build-context", "-o", "jsonpath={.spec.volumeName}")
    path = json.loads(builds.kubectl.run("get", "pv", volume, "-o", "json").stdout)["spec"]["hostPath"]["path"]
    assert (Path(path) / "out" / "stages-names").read_text() == f"{builds.destination('stages')}@{digest}\n"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "staged"},
        "spec": {"restartPolicy": "Never", "imagePullSecrets": [{"name": "pull-stages"}],
                 "containers": [{"name": "main", "image": f"{builds.destination('stages')}@{digest}"}]},
    }  # fmt: skip
    builds.pull_secret("pull-stages")
    builds.apply(json.dumps(pod))
    eventually_blocking(
        lambda: builds.get("pod", "staged", "-o", "jsonpath={.status.phase}") == "Succeeded",
        "the image pulled by digest to run",
        timeout=60,
    )
    assert builds.kubectl.run("-n", builds.namespace, "logs", "staged").stdout == "hi from the builder\n"


@pytest.mark.parametrize(("tag", "code"), [("v1.23.2", 3), ("v0.22.0", 1)])
def test_a_failing_run_fails_the_pod_with_kanikos_error_and_code(builds: Builds, tag: str, code: int) -> None:
    args = [f"--destination={builds.destination('failing:1')}", "--context=dir:///mnt/context/failing"]
    status = builds.build(args, tag=tag)
    log = str(status["log"])
    assert status["phase"] == "Failed"
    assert status["state"]["terminated"]["exitCode"] == code  # type: ignore[index]
    assert "before the failure\n" in log
    assert "subprocess exited" not in log, "buildah's own lines are not Kaniko's"
    assert "never reached" not in log.replace("RUN echo never reached", "")
    message = "error building image: error building stage: failed to execute command: waiting for process to exit"
    assert log.rstrip("\n").endswith(f"{message}: exit status 3")
    conditions = json.loads(builds.get("job", str(status["job"]), "-o", "json"))["status"]["conditions"]
    assert ("Failed", "BackoffLimitExceeded") in [(c["type"], c.get("reason")) for c in conditions]


def test_wrong_credentials_fail_before_building_and_stay_out_of_the_log(builds: Builds) -> None:
    destination = builds.destination("denied:1")
    status = builds.build(
        [f"--destination={destination}", "--context=dir:///mnt/context/app"], secret="kaniko-wrong-config"
    )
    log = str(status["log"])
    assert status["phase"] == "Failed"
    assert status["state"]["terminated"]["exitCode"] == 1  # type: ignore[index]
    repository = f"{builds.namespace}/denied"
    assert log.strip() == (
        f'{PUSH_PERMISSION}: checking push permission for "{destination}": POST http://{builds.registry.name}/v2/'
        f"{repository}/blobs/uploads/: UNAUTHORIZED: authentication required; [map[Action:pull Class: "
        f"Name:{repository} Type:repository] map[Action:push Class: Name:{repository} Type:repository]]"
    )
    assert "not-the-password" not in log
    assert "Retrieving image" not in log


def test_no_push_with_a_tar_path_writes_a_docker_tarball(builds: Builds, cluster: launch.ClusterInfo) -> None:
    args = ["--no-push", "--tar-path=/mnt/context/out/image.tar", "--context=dir:///mnt/context/app"]
    args += [f"--destination={builds.destination('tarred:1')}", "--digest-file=/mnt/context/out/digest"]
    status = builds.build(args)
    assert status["phase"] == "Succeeded", status["log"]
    assert "Skipping push to container registry due to --no-push flag" in str(status["log"])
    volume = builds.get("pvc", "build-context", "-o", "jsonpath={.spec.volumeName}")
    path = json.loads(builds.kubectl.run("get", "pv", volume, "-o", "json").stdout)["spec"]["hostPath"]["path"]
    tarball = Path(path) / "out" / "image.tar"
    inspected = subprocess.run(
        ["skopeo", "inspect", f"docker-archive:{tarball}"], capture_output=True, text=True, timeout=60, check=True
    )
    assert len(json.loads(inspected.stdout)["Layers"]) >= 2
    with tarfile.open(tarball) as archive:
        listed = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert listed[0]["RepoTags"] == [builds.destination("tarred:1")]
    assert (Path(path) / "out" / "digest").read_text().startswith("sha256:")
    assert (
        reg.get(
            builds.registry,
            f"/v2/{builds.namespace}/tarred/tags/list",
            auth=(builds.registry.username, builds.registry.password),
        )[0]
        == 404
    )


def test_a_second_build_with_a_cache_repo_reuses_the_run_layer(builds: Builds) -> None:
    cache = builds.destination("cache")
    args = [f"--destination={builds.destination('cached:1')}", "--context=dir:///mnt/context/app"]
    args += ["--cache=true", f"--cache-repo={cache}"]
    first = builds.build(args)
    assert first["phase"] == "Succeeded", first["log"]
    assert "No cached layer found for cmd RUN echo built-by-kaniko > /app/marker" in str(first["log"])
    assert f"Pushing layer {cache}:" in str(first["log"])
    second = builds.build(args)
    assert second["phase"] == "Succeeded", second["log"]
    assert "Using caching version of cmd: RUN echo built-by-kaniko > /app/marker" in str(second["log"])
