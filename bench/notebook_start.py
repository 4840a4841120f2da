"""How long a Notebook takes from create to Ready, beside a bare pod with the same image, in one run.

A notebook scenario waits for the notebook controller, the StatefulSet controller, the scheduler, the
kubelet and the Jupyter server's readiness; a bare pod with the same image, command and probe waits
for the last three only. The difference is what the emulated Kubeflow controllers add. This starts
the embedded cluster and, alternating, creates N Notebooks and N pods (each its own name), timing
create -> Ready through the suite's own waits, and prints p50, p90 and the ratio.

    .venv/bin/python bench/notebook_start.py [--samples 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from kfval.embedded import launch
from kfval.kube import checks, waiting
from kfval.kube.client import Body, Connection, connect
from kfval.kube.session import RunScope, ScenarioSession
from kfval.kubeflow import notebooks
from kfval.report.redaction import Redactor

IMAGE = "kfval/notebook:latest"
TIMEOUT_SECONDS = 180.0


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def container(name: str, prefix: str) -> Body:
    probe = {"httpGet": {"path": f"{prefix}/api", "port": 8888}, "periodSeconds": 2}
    return {"name": name, "image": IMAGE, "readinessProbe": probe}


def time_notebook(session: ScenarioSession, name: str) -> float:
    body = {
        "apiVersion": notebooks.API_VERSION,
        "kind": "Notebook",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [container(name, f"/notebook/{session.namespace}/{name}")]}}},
    }
    started = time.monotonic()
    session.conn.create(body, session.namespace)
    notebooks.wait_ready(session, name, timeout=TIMEOUT_SECONDS)
    return time.monotonic() - started


def time_pod(session: ScenarioSession, name: str) -> float:
    prefix = f"/notebook/{session.namespace}/{name}"
    spec = {"containers": [{**container(name, prefix), "env": [{"name": "NB_PREFIX", "value": prefix}]}]}
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"bench": name}}, "spec": spec}
    started = time.monotonic()
    session.conn.create(body, session.namespace)
    waiting.wait_until(
        session.conn,
        api_version="v1",
        kind="Pod",
        namespace=session.namespace,
        name=name,
        check=lambda pods: checks.Verdict(
            bool(pods.get(name)) and checks.true_condition(pods[name], "Ready") is not None, None, "Ready"
        ),
        timeout_seconds=TIMEOUT_SECONDS,
        what=f"pod {name} to be Ready",
    )
    return time.monotonic() - started


def run(conn: Connection, samples: int) -> tuple[list[float], list[float]]:
    scope = RunScope(conn=conn, run_id="bench", namespace_prefix="bench", secrets=Redactor())
    session = ScenarioSession(scope, "notebook start")
    session.open()
    try:
        notebook_times, pod_times = [], []
        for index in range(samples):
            notebook_times.append(time_notebook(session, f"nb{index}"))
            pod_times.append(time_pod(session, f"pod{index}"))
            print(f"sample {index + 1}/{samples}: notebook {notebook_times[-1]:.2f} s, pod {pod_times[-1]:.2f} s")
        return notebook_times, pod_times
    finally:
        session.close(timeout_seconds=TIMEOUT_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfval-bench-") as state, launch.Cluster(Path(state)) as info:
        conn = connect(kubeconfig=info.kubeconfig, context=None, in_cluster=False, cache_dir=Path(state) / "cache")
        notebook_times, pod_times = run(conn, args.samples)
    print(f"{'create -> Ready':<18}{'p50 s':>8}{'p90 s':>8}")
    for label, times in (("Notebook", notebook_times), ("bare pod", pod_times)):
        print(f"{label:<18}{percentile(times, 0.5):>8.2f}{percentile(times, 0.9):>8.2f}")
    ratio = percentile(notebook_times, 0.5) / percentile(pod_times, 0.5)
    print(f"ratio (Notebook / pod, p50): {ratio:.2f}x")


if __name__ == "__main__":
    main()
