"""The log lines of the Kubeflow PyTorch MNIST examples, which the suite's parsers read.

Two example images are stood in for by this one program: `kubeflow/pytorch-dist-mnist` prints
plain lines to stdout, and Katib's `kubeflowkatib/pytorch-mnist` (run from
/opt/pytorch-mnist/mnist.py) logs through `logging` to stderr with a timestamp and a metrics line
that Katib's collector reads. The wording and number formats are theirs, character for character.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Protocol

KATIB_FORMAT = "%(asctime)s %(levelname)-8s %(message)s"
KATIB_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class LogLines(Protocol):
    """Where the program's progress goes, in one example's format."""

    def start(self, *, backend: str, world_size: int, rank: int) -> None: ...

    def train_step(self, *, epoch: int, seen: int, total: int, percent: float, loss: float) -> None: ...

    def epoch_result(self, *, accuracy: float, test_loss: float) -> None: ...


class KubeflowLines:
    """`kubeflow/pytorch-dist-mnist` (training-operator examples, 2024 generation), on stdout."""

    def start(self, *, backend: str, world_size: int, rank: int) -> None:
        print(f"Using distributed PyTorch with {backend} backend", flush=True)
        print(f"World Size: {world_size}. Rank: {rank}", flush=True)

    def train_step(self, *, epoch: int, seen: int, total: int, percent: float, loss: float) -> None:
        print(f"Train Epoch: {epoch} [{seen}/{total} ({percent:.0f}%)]\tloss={loss:.4f}", flush=True)

    def epoch_result(self, *, accuracy: float, test_loss: float) -> None:
        print(f"\naccuracy={accuracy:.4f}\n", flush=True)


class KatibLines:
    """`kubeflowkatib/pytorch-mnist`: logging at DEBUG to stderr (or --log-path), UTC timestamps."""

    def __init__(self, log_path: str = "") -> None:
        handler: logging.Handler = logging.FileHandler(log_path) if log_path else logging.StreamHandler(sys.stderr)
        formatter = logging.Formatter(KATIB_FORMAT, datefmt=KATIB_DATE_FORMAT)
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
        self.log = logging.getLogger("pytorch-mnist")
        self.log.setLevel(logging.DEBUG)
        self.log.addHandler(handler)

    def start(self, *, backend: str, world_size: int, rank: int) -> None:
        if world_size > 1:
            print(f"Using distributed PyTorch with {backend} backend", flush=True)

    def train_step(self, *, epoch: int, seen: int, total: int, percent: float, loss: float) -> None:
        self.log.info(f"Train Epoch: {epoch} [{seen}/{total} ({percent:.0f}%)]\tloss={loss:.4f}")

    def epoch_result(self, *, accuracy: float, test_loss: float) -> None:
        self.log.info(
            f"{{metricName: accuracy, metricValue: {accuracy:.4f}}};{{metricName: loss, metricValue: {test_loss:.4f}}}"
        )
