"""The tf-mnist image's training survives what a network does to it, as parameter-server training should.

Its three processes run on the host with the TF_CONFIG a TFJob gives them (the program does not care
where it runs); `ss -K` cuts the chief's connections to the parameter server mid-training.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from tests.support.host import needs_root_and
from tests.support.polling import eventually_blocking

PROGRAM_DIR = Path(__file__).resolve().parents[2] / "images" / "tf-mnist"
IMAGE_ENV = {"TF_USE_LEGACY_KERAS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "2"}
"""What the image's Dockerfile sets."""
TRAIN_STEPS = 4000
CUT_AT_GLOBAL_STEP = 800
GLOBAL_STEP = re.compile(r"\(global step: (\d+)\)")
RUN_SECONDS = 240
DUPLICATE_RUN_GRAPH_FAILURE = (
    "Graph execution error:\n\nCANCELLED: From /job:worker/replica:0/task:0:\nRecvFromRemoteAsync is cancelled.\n"
    "\t [[{{node xw_plus_b_1/ReadVariableOp_1_S79}}]]\nABORTED: From /job:ps/replica:0/task:0:\n"
    'The same RunGraph (Worker) request was received twice. goo.gle/debugproto  graph_handle: "0000000000000004"'
)
"""What a worker's step raised in a CI run (a CancelledError), the parameter server's abort attached."""


@pytest.fixture(scope="module")
def dist_mnist() -> Iterator[ModuleType]:
    """The image's program as a module (TensorFlow imported once for the module's tests)."""
    sys.path.insert(0, str(PROGRAM_DIR))
    try:
        spec = importlib.util.spec_from_file_location("tf_mnist_image_dist_mnist", PROGRAM_DIR / "dist_mnist.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(PROGRAM_DIR))


def global_steps(log: str) -> list[int]:
    return [int(match.group(1)) for match in GLOBAL_STEP.finditer(log)]


@needs_root_and("ss")
def test_a_chief_cut_off_from_its_parameter_server_keeps_the_training(
    dist_mnist: ModuleType, mnist_cache: Path, tmp_path: Path
) -> None:
    ports = [dist_mnist.free_port() for _ in range(3)]
    ps_address = f"127.0.0.1:{ports[0]}"
    cluster = {"ps": [ps_address], "worker": [f"127.0.0.1:{port}" for port in ports[1:]]}
    env = {**os.environ, **IMAGE_ENV, "MNIST_DIR": str(mnist_cache), "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, str(PROGRAM_DIR / "dist_mnist.py"), "--train_steps", str(TRAIN_STEPS)]
    logs = {name: tmp_path / f"{name}.log" for name in ("ps", "worker-1", "worker-0")}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, path in logs.items():
            kind, _, index = name.partition("-")
            task = {"cluster": cluster, "task": {"type": kind, "index": int(index or 0)}}
            with path.open("wb") as log:
                processes[name] = subprocess.Popen(
                    argv, env={**env, "TF_CONFIG": json.dumps(task)}, stdout=log, stderr=subprocess.STDOUT
                )
        eventually_blocking(
            lambda: max(global_steps(logs["worker-0"].read_text()), default=0) >= CUT_AT_GLOBAL_STEP,
            f"the chief at global step {CUT_AT_GLOBAL_STEP}",
            timeout=RUN_SECONDS,
        )
        cut = subprocess.run(["ss", "-K", "-t", "dst", ps_address], capture_output=True, text=True, check=True)
        assert "ESTAB" in cut.stdout, f"ss -K cut no connection to the parameter server:\n{cut.stdout}"
        codes = {name: processes[name].wait(timeout=RUN_SECONDS) for name in ("worker-0", "worker-1")}
    finally:
        for process in processes.values():
            process.kill()
            process.wait()
    chief = logs["worker-0"].read_text()
    assert codes == {"worker-0": 0, "worker-1": 0}, chief[-3000:]
    steps = global_steps(chief)
    set_back = [(before, after) for before, after in itertools.pairwise(steps) if after < before]
    assert not set_back, f"the global step went back after the cut: {set_back[:3]}"
    assert steps[-1] >= TRAIN_STEPS
    assert f"After {TRAIN_STEPS} training step(s), validation accuracy" in chief


GRAPH = SimpleNamespace(images="images", labels="labels", train_op="train", global_step="step")
"""What `run_steps` feeds and fetches; the stand-in session below ignores it."""


def blank_examples(dist_mnist: ModuleType) -> Any:
    """Four blank images with their labels, enough for batches of two."""
    zeros = dist_mnist.np.zeros
    return dist_mnist.Examples(zeros((4, 784), dtype="float32"), zeros((4, 10), dtype="float32"))


class DuplicateOnce:
    """A session whose first step fails as a parameter server's duplicate-RunGraph abort reaches a worker."""

    def __init__(self, error: Exception) -> None:
        self.error: Exception | None = error
        self.global_step = 0

    def run(self, fetches: Any, feed_dict: Any) -> tuple[None, int]:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        self.global_step += 1
        return None, self.global_step


def test_a_step_refused_as_a_duplicate_run_graph_is_lost_not_the_training(
    dist_mnist: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    session = DuplicateOnce(dist_mnist.tf.errors.CancelledError(None, None, DUPLICATE_RUN_GRAPH_FAILURE))
    args = SimpleNamespace(batch_size=2, train_steps=3)

    dist_mnist.run_steps(session, GRAPH, blank_examples(dist_mnist), task=SimpleNamespace(index=0), args=args)

    out, err = capsys.readouterr()
    assert "Worker 0: training step 1 lost" in err
    assert global_steps(out) == [1, 2, 3]


def test_any_other_cancelled_step_still_ends_the_training(dist_mnist: ModuleType) -> None:
    cancelled = dist_mnist.tf.errors.CancelledError
    session = DuplicateOnce(cancelled(None, None, "RecvFromRemoteAsync is cancelled."))

    with pytest.raises(cancelled):
        dist_mnist.run_steps(
            session,
            GRAPH,
            blank_examples(dist_mnist),
            task=SimpleNamespace(index=0),
            args=SimpleNamespace(batch_size=2),
        )
