"""Where a TFJob's throughput goes on the embedded cluster: the same training, one layer of a pod at a time.

`workload_overhead.py` compares the host with the whole pod. This puts the TF MNIST program (1 parameter
server, 2 workers, `images/tf-mnist/dist_mnist.py`) in each layer the kubelet adds, alone:

- `host`: three local processes on loopback (the baseline, as `workload_overhead.py` runs them);
- `pod network`: each process in a network namespace of its own on the cluster's bridge, set up by the
  kubelet's own code (`NamespacedNetwork`: veth pair, pod MTU), talking over pod addresses;
- `sandbox`: each process inside bubblewrap as the kubelet's sandbox builds the command line for a
  container of the host's root (its own PID/IPC/UTS namespaces, /dev, /proc, the bound filesystem);
- `pods, output to a file`: the TFJob on the embedded cluster, each container writing its output to a
  file of its own instead of the log the kubelet captures line by line (only the last lines reach it);
- `pods`: the TFJob as the suite submits it.

Every figure is samples per second from the first worker's `Training elapsed time` line; runs take
turns (host, pod network, ...) so that a slow moment of the machine lands on all of them. The pod
variants also print the cluster's own CPU seconds per job (API server, controllers, kubelet, log capture).
Needs root and iproute2 for the pod network and bubblewrap for the sandbox; a layer that cannot run here
is left out, saying why.

    .venv/bin/python bench/workload_layers.py [--samples 4] [--train-steps 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import workload_overhead as workload
from kfval.embedded import datasets, launch
from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet import network, sandbox
from kfval.embedded.kubelet.containers import PodNetwork, ProcessSpec
from kfval.kube.client import connect
from sampling import percentile

ROOT = Path(__file__).resolve().parent.parent
TF_PORT = 2222
NETWORK_PREFIX = "kfvb"
"""Names this bench's bridge and namespaces (`kfvbbr`, `kfvb<task>`), apart from any cluster's."""
OUTPUT_TO_FILE = (
    'command: ["sh", "-c", "python /var/tf_dist_mnist/dist_mnist.py --train_steps ${train_steps} >/tmp/output 2>&1;'
    ' code=$?; tail -n 20 /tmp/output; exit $code"]'
)
"""The TFJob's containers with their output in a file; the log gets its last lines (the elapsed time among them)."""


def pod_network_run(mnist: Path, train_steps: int) -> float:
    """Each task in a pod network namespace, on the addresses the kubelet's network code hands out."""

    async def run() -> float:
        pods = await network.detect_network(NETWORK_PREFIX)
        try:
            links = [await pods.setup(f"{task:08d}-bench") for task in range(len(workload.TF_TASKS))]
            addresses = [f"{link.ip}:{TF_PORT}" for link in links]

            def wrapper(task: int, argv: list[str]) -> list[str]:
                return ["ip", "netns", "exec", str(links[task].netns), *argv]

            return await asyncio.to_thread(
                workload.tf_host_run, mnist, train_steps, addresses=addresses, wrapper=wrapper
            )
        finally:
            await pods.close()

    return asyncio.run(run())


def sandbox_run(mnist: Path, train_steps: int, scratch: Path) -> float:
    """Each task inside bubblewrap as the kubelet starts a container of the host's root (host network)."""
    bubblewrap = sandbox.BubblewrapSandbox(scratch, SystemClock())

    def wrapper(task: int, argv: list[str]) -> list[str]:
        spec = ProcessSpec(
            argv=tuple(argv),
            env={},
            workdir="/",
            mounts=(),
            hostname=f"task-{task}",
            network=PodNetwork(ip="127.0.0.1"),
        )
        return bubblewrap.command(spec)

    return workload.tf_host_run(mnist, train_steps, wrapper=wrapper)


def unavailable_layers() -> dict[str, str]:
    """The host-side layers this machine cannot build, with the reason."""
    missing = {}
    if os.geteuid() != 0 or shutil.which("ip") is None:
        missing["pod network"] = "needs root and iproute2"
    if shutil.which("bwrap") is None:
        missing["sandbox"] = "needs bubblewrap"
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--train-steps", type=int, default=workload.TF_TRAIN_STEPS)
    args = parser.parse_args()
    mnist = datasets.prepare(ROOT / ".cache" / "datasets")
    missing = unavailable_layers()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        quiet = scratch / "tfjob-output-to-file.yaml"
        quiet.write_text(
            workload.TF_MANIFEST.read_text().replace('args: ["--train_steps", "${train_steps}"]', OUTPUT_TO_FILE)
        )
        info = launch.start(scratch / "cluster", datasets_dir=mnist.parent, die_with_parent=True)
        try:
            conn = connect(kubeconfig=info.kubeconfig, context=None, in_cluster=False, cache_dir=scratch / "cache")

            def on_cluster(manifest: Path) -> Callable[[int], tuple[float, float]]:
                def run(index: int) -> tuple[float, float]:
                    before = workload.cpu_seconds(info.pid)
                    figure = workload.tf_cluster_run(
                        conn, f"{manifest.stem}-{index}", args.train_steps, manifest=manifest
                    )
                    return figure, workload.cpu_seconds(info.pid) - before

                return run

            layers: dict[str, Callable[[int], tuple[float, float]]] = {
                "host": lambda _i: (workload.tf_host_run(mnist, args.train_steps), 0.0),
                "pod network": lambda _i: (pod_network_run(mnist, args.train_steps), 0.0),
                "sandbox": lambda _i: (sandbox_run(mnist, args.train_steps, scratch), 0.0),
                "pods, output to a file": on_cluster(quiet),
                "pods": on_cluster(workload.TF_MANIFEST),
            }
            for name in missing:
                del layers[name]
            figures: dict[str, list[tuple[float, float]]] = {name: [] for name in layers}
            for index in range(args.samples):
                for name, run in layers.items():
                    figures[name].append(run(index))
                line = ", ".join(f"{name} {runs[-1][0]:.0f}/s" for name, runs in figures.items())
                print(f"sample {index + 1}/{args.samples}: {line}", flush=True)
        finally:
            launch.stop(scratch / "cluster")
    host = percentile([figure for figure, _ in figures["host"]], 0.5)
    print(f"TF MNIST, 1 parameter server + 2 workers, {args.train_steps} steps, {args.samples} samples each")
    print(f"{'layer':<28}{'p50 samples/s':>15}{'vs host':>9}{'cluster CPU s/job':>19}")
    for name, runs in figures.items():
        throughput = percentile([figure for figure, _ in runs], 0.5)
        cpu = f"{percentile([seconds for _, seconds in runs], 0.5):.2f}" if name.startswith("pods") else "-"
        print(f"{name:<28}{throughput:>15.0f}{throughput / host:>9.3f}{cpu:>19}")
    for name, reason in missing.items():
        print(f"{name}: left out ({reason})")


if __name__ == "__main__":
    main()
