"""Whether the embedded cluster costs a workload anything: the same training program run directly on
the host and as a Kubeflow job on the embedded cluster, side by side in one run.

PyTorch: `images/pytorch-mnist/mnist.py`, DDP over gloo with 2 processes (rank 0 and 1 on the host; a
PyTorchJob with a master and one worker on the cluster). Throughput is read the same way on both
sides, from rank 0's `Train Epoch: e [seen/total ...]` lines and the time each line arrived (the
host reads the pipe and stamps each line; the cluster's kubelet stamps each line it receives, which
`pods/log?timestamps=true` returns): samples per second between the first and the last training line,
times the world size (each rank trains its own shard). Process start, imports and data loading are
left out on both sides. Runs alternate host, cluster, host, ... so a slow moment lands on both.

TensorFlow: `images/tf-mnist/dist_mnist.py`, between-graph training with 1 parameter server and 2
workers (three local processes with a TF_CONFIG each on the host; a TFJob on the cluster). Its first
worker prints how long training took (`Training elapsed time: t s`, from its own clock, after the
session is up); throughput is train_steps x batch_size / t on both sides.

Goal: cluster / host >= 0.95 for each.

TF trains 5000 steps on both sides by default: at 1000 its training lasts about 2 s, and the second
worker joining at its next one-second poll moved the ratio from 0.7 to above 1 in either direction.

    .venv/bin/python bench/workload_overhead.py [--samples 2] [--epochs 1] [--train-steps 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from kfval.embedded import datasets, launch
from kfval.kube.client import Connection, connect
from kfval.kubeflow import training
from sampling import TIMEOUT_SECONDS, percentile, scenario_session

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "images" / "pytorch-mnist" / "mnist.py"
MANIFEST = ROOT / "manifests" / "pytorchjob.yaml"
IMAGE = "kfval/pytorch-mnist:latest"
TF_PROGRAM = ROOT / "images" / "tf-mnist" / "dist_mnist.py"
TF_MANIFEST = ROOT / "manifests" / "tfjob.yaml"
TF_IMAGE = "kfval/tf-mnist:latest"
TF_ENV = {"TF_USE_LEGACY_KERAS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "2"}
"""What the tf-mnist image's Dockerfile sets, so the host runs the program as the pods do."""
TF_BATCH_SIZE = 100
TF_TRAIN_STEPS = 5000
ELAPSED_LINE = re.compile(r"Training elapsed time: ([0-9.]+) s")
WORLD_SIZE = 2
TRAIN_LINE = re.compile(r"Train Epoch: (\d+) \[(\d+)/(\d+)")
HYPERPARAMETERS = {"learning_rate": "0.05", "momentum": "0.9"}


def samples_per_second(stamped: list[tuple[float, str]]) -> float:
    """Throughput of all ranks from rank 0's training lines, each with the second it arrived."""
    progress = []
    for moment, line in stamped:
        match = TRAIN_LINE.search(line)
        if match:
            epoch, seen, total = (int(group) for group in match.groups())
            progress.append((moment, (epoch - 1) * total // WORLD_SIZE + seen))
    if len(progress) < 2 or progress[-1][0] <= progress[0][0]:
        raise RuntimeError(f"too few training lines to time ({len(progress)})")
    (first_time, first_seen), (last_time, last_seen) = progress[0], progress[-1]
    return (last_seen - first_seen) * WORLD_SIZE / (last_time - first_time)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def host_run(mnist: Path, epochs: int) -> float:
    """The program as two local processes (no sandbox, no cluster)."""
    port = str(free_port())
    argv = [sys.executable, str(PROGRAM), "--backend", "gloo", "--no-cuda", "--epochs", str(epochs)]
    argv += ["--lr", HYPERPARAMETERS["learning_rate"], "--momentum", HYPERPARAMETERS["momentum"]]
    base = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": str(WORLD_SIZE)}
    base |= {"MNIST_DIR": str(mnist), "PYTHONUNBUFFERED": "1"}
    worker = subprocess.Popen(argv, env={**base, "RANK": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    master = subprocess.Popen(
        argv, env={**base, "RANK": "0"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert master.stdout is not None
    stamped = [(time.monotonic(), line) for line in master.stdout]
    if master.wait() != 0 or worker.wait() != 0:
        raise RuntimeError("the host run failed:\n" + "".join(line for _, line in stamped[-20:]))
    return samples_per_second(stamped)


def cluster_run(conn: Connection, name: str, epochs: int) -> float:
    """The program as a PyTorchJob (master + 1 worker) in a scenario namespace, as the suite submits it."""
    with scenario_session(conn, name) as session:
        variables = {"name": "mnist", "workers": "1", "image": IMAGE, "epochs": str(epochs)}
        session.apply(MANIFEST, {**variables, **HYPERPARAMETERS, "clean_pod_policy": "None"})
        job = training.wait_finished(session, "PyTorchJob", "mnist", timeout=TIMEOUT_SECONDS * 5)
        log = conn.pod_log("mnist-master-0", session.namespace, timestamps=True)
    if not any(c.get("type") == "Succeeded" and c.get("status") == "True" for c in job["status"]["conditions"]):
        raise RuntimeError(f"the PyTorchJob failed:\n{log[-2000:]}")
    stamped = []
    for line in log.splitlines():
        stamp, _, text = line.partition(" ")
        stamped.append((datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp(), text))
    return samples_per_second(stamped)


def tf_samples_per_second(log: str, train_steps: int) -> float:
    match = ELAPSED_LINE.search(log)
    if match is None:
        raise RuntimeError(f"the first worker printed no training time:\n{log[-2000:]}")
    return train_steps * TF_BATCH_SIZE / float(match.group(1))


TF_TASKS = (("ps", 0), ("worker", 0), ("worker", 1))
"""The TFJob's replicas in the order `tf_host_run` takes their addresses and wrappers."""


def no_wrapper(_task: int, argv: list[str]) -> list[str]:
    return argv


def tf_host_run(
    mnist: Path,
    train_steps: int,
    *,
    addresses: Sequence[str] | None = None,
    wrapper: Callable[[int, list[str]], list[str]] = no_wrapper,
) -> float:
    """One parameter server and two workers as local processes, each with the TF_CONFIG a TFJob gives.

    `addresses` (one per task of TF_TASKS, loopback ports by default) and `wrapper` (the command line that
    runs task i's argv) let `workload_layers.py` put each process in one more layer of a pod.
    """
    hosts = list(addresses or [f"127.0.0.1:{free_port()}" for _ in TF_TASKS])
    cluster = {"ps": hosts[:1], "worker": hosts[1:]}
    argv = [sys.executable, str(TF_PROGRAM), "--train_steps", str(train_steps)]
    base = {**os.environ, **TF_ENV, "MNIST_DIR": str(mnist), "PYTHONUNBUFFERED": "1"}

    def start(task: int, output: int) -> subprocess.Popen[str]:
        kind, index = TF_TASKS[task]
        tf_config = json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})
        return subprocess.Popen(
            wrapper(task, argv),
            env={**base, "TF_CONFIG": tf_config},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )

    ps = start(0, subprocess.DEVNULL)
    try:
        second = start(2, subprocess.DEVNULL)
        first = start(1, subprocess.PIPE)
        log, _ = first.communicate()
        if first.returncode != 0 or second.wait() != 0:
            raise RuntimeError(f"the host TF run failed:\n{log[-2000:]}")
    finally:
        ps.kill()
        ps.wait()
    return tf_samples_per_second(log, train_steps)


def tf_cluster_run(conn: Connection, name: str, train_steps: int, *, manifest: Path = TF_MANIFEST) -> float:
    """The program as a TFJob (1 parameter server, 2 workers), as the suite submits it (or as `manifest` has it)."""
    with scenario_session(conn, name) as session:
        variables = {"name": "mnist", "ps": "1", "workers": "2", "image": TF_IMAGE, "train_steps": str(train_steps)}
        session.apply(manifest, variables)
        training.wait_finished(session, "TFJob", "mnist", timeout=TIMEOUT_SECONDS * 5)
        log = conn.pod_log("mnist-worker-0", session.namespace)
    return tf_samples_per_second(log, train_steps)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children (the cluster: API server, controllers, kubelet)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[index]) for index in (11, 12)) / os.sysconf("SC_CLK_TCK")


def print_table(heading: str, host: list[float], pods: list[float]) -> None:
    print(f"{heading:<40}{'p50 samples/s':>15}")
    for label, figures in (("host processes", host), ("Kubeflow job on the embedded cluster", pods)):
        print(f"{label:<40}{percentile(figures, 0.5):>15.0f}")
    print(f"ratio (pods / host, p50): {percentile(pods, 0.5) / percentile(host, 0.5):.3f} (goal >= 0.95)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-steps", type=int, default=TF_TRAIN_STEPS)
    args = parser.parse_args()
    mnist = datasets.prepare(ROOT / ".cache" / "datasets")
    figures: dict[str, tuple[list[float], list[float]]] = {"torch": ([], []), "tf": ([], [])}
    with tempfile.TemporaryDirectory() as scratch:
        state_dir = Path(scratch) / "cluster"
        info = launch.start(state_dir, datasets_dir=mnist.parent, die_with_parent=True)
        try:
            conn = connect(kubeconfig=info.kubeconfig, context=None, in_cluster=False, cache_dir=Path(scratch) / "c")
            for index in range(args.samples):
                figures["torch"][0].append(host_run(mnist, args.epochs))
                before = cpu_seconds(info.pid)
                figures["torch"][1].append(cluster_run(conn, f"w{index}", args.epochs))
                torch_cluster = cpu_seconds(info.pid) - before
                figures["tf"][0].append(tf_host_run(mnist, args.train_steps))
                before = cpu_seconds(info.pid)
                figures["tf"][1].append(tf_cluster_run(conn, f"t{index}", args.train_steps))
                tf_cluster = cpu_seconds(info.pid) - before
                print(
                    f"sample {index + 1}/{args.samples}: "
                    + ", ".join(f"{k} host {h[-1]:.0f}/s pods {p[-1]:.0f}/s" for k, (h, p) in figures.items())
                    + f"; the cluster's own CPU during the jobs: torch {torch_cluster:.1f} s, tf {tf_cluster:.1f} s",
                    flush=True,
                )
        finally:
            launch.stop(state_dir)
    print_table("PyTorch DDP MNIST, 2 processes", *figures["torch"])
    print_table("TF MNIST, 1 parameter server + 2 workers", *figures["tf"])


if __name__ == "__main__":
    main()
