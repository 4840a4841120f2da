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
from kfval.kube.client import Body, connect
from kfval.kube.session import ScenarioSession
from kfval.kubeflow import notebooks
from sampling import TIMEOUT_SECONDS, alternate, print_side_by_side, scenario_session

IMAGE = "kfval/notebook:latest"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfval-bench-") as state, launch.Cluster(Path(state)) as info:
        conn = connect(kubeconfig=info.kubeconfig, context=None, in_cluster=False, cache_dir=Path(state) / "cache")
        with scenario_session(conn, "notebook start") as session:
            notebook_times, pod_times = alternate(
                args.samples,
                ("Notebook", lambda name: time_notebook(session, f"nb-{name}")),
                ("bare pod", lambda name: time_pod(session, f"pod-{name}")),
            )
    print_side_by_side("create -> Ready", ("Notebook", notebook_times), ("bare pod", pod_times))


if __name__ == "__main__":
    main()
