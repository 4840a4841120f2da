"""How long a build + push through the Kaniko executor takes, beside the same buildah build run on the host.

A Kaniko build on the embedded cluster pays for a Job, its pod, the sandbox, the executor's own
checks (push permission, base image configs) and its log translation on top of buildah's work.
This starts the embedded cluster and, alternating, runs N builder Jobs (context and credentials
as Fairing mounts them) and N direct `buildah bud` + `buildah push` of the same Dockerfile into
the same registry (fresh storage on a tmpfs each time, as the executor has), and prints p50, p90
and the ratio. Each executor sample is checked in the registry afterwards, outside the timing.
Each sample builds different content, so neither side is served from a cache.

    .venv/bin/python bench/image_build.py [--samples 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import tempfile
import time
from pathlib import Path

from kfval.embedded import launch
from kfval.kube import checks, waiting
from kfval.kube.client import Body, connect
from kfval.kube.session import ScenarioSession
from sampling import TIMEOUT_SECONDS, alternate, print_side_by_side, scenario_session

SHM = Path("/dev/shm")
"""The host build's storage goes on a tmpfs, as the executor's does inside its sandbox (like with like)."""
DOCKERFILE = "FROM {registry}/base/python:3.11\nWORKDIR /app/\nRUN echo {marker} > /app/marker\nCOPY main.py /app/\n"


def docker_config(registry: launch.RegistryInfo, host: str) -> str:
    auth = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    return json.dumps({"auths": {host: {"auth": auth}}})


def job(name: str, registry: launch.RegistryInfo) -> Body:
    container = {
        "name": "kaniko",
        "image": "gcr.io/kaniko-project/executor:v1.23.2",
        "args": [f"--destination={registry.name}/bench/app:{name}", "--context=/workspace"],
        "volumeMounts": [
            {"name": "context", "mountPath": "/workspace"},
            {"name": "docker-config", "mountPath": "/kaniko/.docker"},
        ],
    }
    volumes = [
        {"name": "context", "configMap": {"name": name}},
        {"name": "docker-config", "secret": {"secretName": "docker-config"}},
    ]
    template = {"spec": {"restartPolicy": "Never", "containers": [container], "volumes": volumes}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": template},
    }


def time_executor(session: ScenarioSession, registry: launch.RegistryInfo, name: str) -> float:
    files = {"Dockerfile": DOCKERFILE.format(registry=registry.name, marker=name), "main.py": f"print('{name}')\n"}
    session.conn.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": files}, session.namespace
    )
    started = time.monotonic()
    session.conn.create(job(name, registry), session.namespace)
    waiting.wait_until(
        session.conn,
        api_version="batch/v1",
        kind="Job",
        namespace=session.namespace,
        name=name,
        check=lambda jobs: checks.Verdict(
            bool(jobs.get(name)) and (jobs[name].get("status") or {}).get("succeeded") == 1, None, "Complete"
        ),
        timeout_seconds=TIMEOUT_SECONDS,
        what=f"builder Job {name} to complete",
    )
    elapsed = time.monotonic() - started
    pushed = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", f"{registry.username}:{registry.password}",
         f"docker://{registry.address}/bench/app:{name}"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert pushed.returncode == 0, f"the executor's Job completed but {name} is not in the registry"
    return elapsed


def time_buildah(registry: launch.RegistryInfo, name: str, work: Path) -> float:
    context = work / name
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE.format(registry=registry.address, marker=name))
    (context / "main.py").write_text(f"print('{name}')\n")
    authfile = work / "auth.json"
    authfile.write_text(docker_config(registry, registry.address))
    storage = ["--root", str(context / "storage"), "--runroot", str(context / "run"), "--storage-driver", "overlay"]
    common = ["--authfile", str(authfile), "--tls-verify=false"]
    started = time.monotonic()
    subprocess.run(
        ["buildah", *storage, "bud", "--quiet", "--isolation", "chroot", "--format", "docker", "--layers", *common,
         "-t", f"localhost/bench:{name}", str(context)],
        check=True, capture_output=True, env={"TMPDIR": str(work), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    subprocess.run(
        ["buildah", *storage, "push", "--quiet", "--format", "v2s2", *common, f"localhost/bench:{name}",
         f"docker://{registry.address}/bench/direct:{name}"],
        check=True, capture_output=True, env={"TMPDIR": str(work), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    elapsed = time.monotonic() - started
    subprocess.run(["buildah", *storage, "rm", "--all"], check=False, capture_output=True)
    subprocess.run(["rm", "-rf", str(context)], check=False)
    return elapsed


def measure(
    session: ScenarioSession, registry: launch.RegistryInfo, samples: int, work: Path
) -> tuple[list[float], list[float]]:
    config = {"config.json": docker_config(registry, registry.name)}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "docker-config"}, "stringData": config}
    session.conn.create(secret, session.namespace)
    return alternate(
        samples,
        ("executor", lambda name: time_executor(session, registry, f"k{name}")),
        ("buildah", lambda name: time_buildah(registry, f"h{name}", work)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfval-bench-") as state, launch.Cluster(Path(state) / "cluster") as info:
        assert info.registry is not None, "the cluster runs without its registry (see its cluster.log)"
        conn = connect(kubeconfig=info.kubeconfig, context=None, in_cluster=False, cache_dir=Path(state) / "cache")
        work = Path(tempfile.mkdtemp(prefix="kfval-bench-", dir=SHM if SHM.is_dir() else None))
        try:
            with scenario_session(conn, "image build") as session:
                executor_times, buildah_times = measure(session, info.registry, args.samples, work)
        finally:
            subprocess.run(["rm", "-rf", str(work)], check=False)
    print_side_by_side(
        "build + push", ("Kaniko executor (Job)", executor_times), ("buildah on the host", buildah_times)
    )


if __name__ == "__main__":
    main()
