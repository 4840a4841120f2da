"""What a PyTorch MNIST pod's log says about its training: the loss curve and the test accuracy.

The suite judges a PyTorchJob by its master's log, as the original validation did, so the log
must be read the way the Kubeflow example images write it. Three generations of those images
are in use (kubeflow-semantics §2.1), and all three are read here:

* the current training-operator example (`kubeflow/pytorch-dist-mnist`, 2024): `World Size: N.
  Rank: R`, `Train Epoch: E [seen/total (P%)]<TAB>loss=L` and, after each epoch, `accuracy=A`
  between empty lines (the upstream image divides one rank's correct count by the whole test
  set, so its accuracy is about 1/WORLD_SIZE of the truth; the project's image sums the ranks);
* the previous generation (2021-2024, pytorch-operator's example): the same lines without the
  `World Size` line;
* the Katib example (`kubeflowkatib/pytorch-mnist`): the same `Train Epoch` message behind a
  logging prefix (`2024-03-01T10:00:00Z INFO     `) and, per epoch,
  `{metricName: accuracy, metricValue: A};{metricName: loss, metricValue: L}`.

Parsing is pure and never raises on odd input: lines that match nothing are skipped, and a log
without a result line yields `accuracy is None`, which the suite reports with the log's last lines.
`{:.4f}` renders NaN as `nan`, so a diverged run parses to NaN losses rather than to nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+|nan|inf)"
TRAIN_STEP = re.compile(
    rf"Train Epoch: (?P<epoch>\d+) \[(?P<seen>\d+)/(?P<total>\d+) \((?P<percent>\d+)%\)\][\t ]*loss=(?P<loss>{NUMBER})"
)
ACCURACY = re.compile(rf"(?:^|\s)accuracy=(?P<value>{NUMBER})$")
KATIB_METRIC = re.compile(rf"\{{metricName: (?P<name>\w+), metricValue: (?P<value>{NUMBER})\}}")
BACKEND = re.compile(r"Using distributed PyTorch with (?P<backend>\w+) backend")
WORLD = re.compile(r"World Size: (?P<size>\d+)\. Rank: (?P<rank>\d+)")
KATIB_PREFIX = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ [A-Z]+ +Train Epoch:")


class LogGeneration(enum.Enum):
    """Which example image's format the log is in."""

    CURRENT = "training-operator example (2024)"
    PREVIOUS = "pytorch-operator example (2021)"
    KATIB = "Katib example"
    UNKNOWN = "no PyTorch MNIST lines"


@dataclass(frozen=True)
class LossPoint:
    """One `Train Epoch` line: the training loss of one batch, and how far into the epoch it was."""

    epoch: int
    seen: int
    """Samples this rank had seen in the epoch before the batch (batch index x batch size)."""
    total: int
    """The training set size as printed (the whole set, even when each rank sees a shard)."""
    percent: int
    """Progress through this rank's batches, rounded as printed."""
    loss: float

    @property
    def position(self) -> float:
        """Epochs done, as a fraction: the x axis of a loss curve (epoch 2 at 50 % is 1.5)."""
        return self.epoch - 1 + self.percent / 100


@dataclass(frozen=True)
class EpochResult:
    """What the program printed after testing at the end of an epoch."""

    epoch: int
    accuracy: float
    test_loss: float | None = None
    """Only the Katib example prints it (summed negative log likelihood / test set size)."""


@dataclass(frozen=True)
class TrainingLog:
    """A pod log read as a metric series."""

    generation: LogGeneration
    losses: tuple[LossPoint, ...] = ()
    results: tuple[EpochResult, ...] = ()
    backend: str | None = None
    world_size: int | None = None
    rank: int | None = None

    @property
    def accuracy(self) -> float | None:
        """The test accuracy after the last epoch; None when the log has no result line."""
        return self.results[-1].accuracy if self.results else None

    @property
    def test_loss(self) -> float | None:
        return self.results[-1].test_loss if self.results else None

    @property
    def final_loss(self) -> float | None:
        """The last training loss printed; None when no `Train Epoch` line was."""
        return self.losses[-1].loss if self.losses else None


def loss_point(line: str) -> LossPoint | None:
    match = TRAIN_STEP.search(line)
    if match is None:
        return None
    return LossPoint(
        epoch=int(match["epoch"]),
        seen=int(match["seen"]),
        total=int(match["total"]),
        percent=int(match["percent"]),
        loss=float(match["loss"]),
    )


def katib_metrics(line: str) -> dict[str, float]:
    """The `{metricName: ..., metricValue: ...}` pairs of one line, by name."""
    return {match["name"]: float(match["value"]) for match in KATIB_METRIC.finditer(line)}


class _Reader:
    """Accumulates one log, line by line; the last epoch seen numbers the next result."""

    def __init__(self) -> None:
        self.losses: list[LossPoint] = []
        self.results: list[EpochResult] = []
        self.backend: str | None = None
        self.world: tuple[int, int] | None = None
        self.katib = False

    def epoch(self) -> int:
        return self.losses[-1].epoch if self.losses else len(self.results) + 1

    def read(self, line: str) -> None:
        line = line.rstrip()
        if (point := loss_point(line)) is not None:
            self.losses.append(point)
            self.katib = self.katib or KATIB_PREFIX.match(line) is not None
        elif (accuracy := ACCURACY.search(line)) is not None:
            self.results.append(EpochResult(epoch=self.epoch(), accuracy=float(accuracy["value"])))
        elif "accuracy" in (metrics := katib_metrics(line)):
            self.katib = True
            self.results.append(EpochResult(self.epoch(), metrics["accuracy"], test_loss=metrics.get("loss")))
        elif (backend := BACKEND.search(line)) is not None:
            self.backend = backend["backend"]
        elif (world := WORLD.search(line)) is not None:
            self.world = (int(world["size"]), int(world["rank"]))

    def generation(self) -> LogGeneration:
        if self.katib:
            return LogGeneration.KATIB
        if self.world is not None:
            return LogGeneration.CURRENT
        if self.losses or self.results:
            return LogGeneration.PREVIOUS
        return LogGeneration.UNKNOWN


def parse_lines(lines: Iterable[str]) -> TrainingLog:
    """The metric series of a log given as lines (a followed log can be fed as it streams)."""
    reader = _Reader()
    for line in lines:
        reader.read(line)
    return TrainingLog(
        generation=reader.generation(),
        losses=tuple(reader.losses),
        results=tuple(reader.results),
        backend=reader.backend,
        world_size=reader.world[0] if reader.world else None,
        rank=reader.world[1] if reader.world else None,
    )


def parse_training_log(text: str) -> TrainingLog:
    """The metric series of a whole pod log."""
    return parse_lines(text.splitlines())
