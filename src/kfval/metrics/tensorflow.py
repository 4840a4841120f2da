"""What a TF MNIST pod's log says about its training: steps, cross entropy, accuracy, speed.

The original validation judged a TFJob by the lines Kubeflow's dist-mnist example prints, so the
suite reads them as that example writes them. Two generations of it are in use
(kubeflow-semantics §2.2), and both are read here:

* classic (TF 1, `kubeflow/tf-dist-mnist-test` up to training-operator v1.8): every replica prints
  `job name = ps|worker` and `task index = N`; parameter servers then serve forever; each worker
  prints `<unix time>: Worker N: training step L done (global step: G)` per local step, then
  `Training elapsed time: %f s` and `After <train_steps> training step(s), validation cross
  entropy = %g` (a sum over the 5 000 validation images, not a mean; `%g` may use an exponent);
  the project's image adds `After ... validation accuracy = %g`;
* chief (TF 2, ParameterServerStrategy, since November 2024): every replica prints `Number of PS
  replicas: N`; only the chief trains, with Keras `fit` lines (`Epoch E/N`, then `S/S - 4s -
  loss: L - accuracy: A - ...`), `Training elapsed time: <float> s` and `Evaluation accuracy: %f`;
  the project's image adds `Evaluation cross entropy: %f` (a mean).

Parsing is pure and never raises on odd input: TensorFlow's own log lines and anything else that
matches nothing are skipped, and a log without a result line yields `cross_entropy is None`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

NUMBER = r"[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
JOB_NAME = re.compile(r"^job name = (?P<name>\w+)$")
TASK_INDEX = re.compile(r"^task index = (?P<index>\d+)$")
STEP = re.compile(
    r"(?:^|\s)(?P<time>\d+(?:\.\d+)?): Worker (?P<worker>\d+): "
    r"training step (?P<local>\d+) done \(global step: (?P<global>\d+)\)$"
)
ELAPSED = re.compile(rf"^Training elapsed time: (?P<seconds>{NUMBER}) s$")
CROSS_ENTROPY = re.compile(
    rf"^After (?P<steps>\d+) training step\(s\), validation cross entropy = (?P<value>{NUMBER})$"
)
VALIDATION_ACCURACY = re.compile(rf"^After \d+ training step\(s\), validation accuracy = (?P<value>{NUMBER})$")
PS_REPLICAS = re.compile(r"^Number of PS replicas: (?P<count>\d+)$")
EVALUATION = re.compile(rf"^Evaluation (?P<name>accuracy|cross entropy): (?P<value>{NUMBER})$")
EPOCH = re.compile(r"^Epoch (?P<epoch>\d+)/(?P<epochs>\d+)$")
FIT_SUMMARY = re.compile(
    rf"^(?P<steps>\d+)/(?P=steps) - (?P<time>\d+(?:\.\d+)?)(?P<unit>m?s) - loss: (?P<loss>{NUMBER})"
    rf"(?: - accuracy: (?P<accuracy>{NUMBER}))?"
)
CHIEF_MARKERS = ("Run script with args=", "Number of PS replicas:", "Evaluation accuracy:")


class LogGeneration(enum.Enum):
    """Which generation of the TF example wrote the log."""

    CLASSIC = "TF 1 dist-mnist (parameter servers, between-graph workers)"
    CHIEF = "TF 2 dist-mnist (chief, ParameterServerStrategy)"
    UNKNOWN = "no TF MNIST lines"


@dataclass(frozen=True)
class TrainingStep:
    """One classic step line: when it ended, which worker, its own count and the shared one."""

    timestamp: float
    worker: int
    local_step: int
    global_step: int


@dataclass(frozen=True)
class EpochSummary:
    """One Keras `fit` epoch as the chief printed it (verbose 2)."""

    epoch: int
    epochs: int
    steps: int
    seconds: float
    loss: float
    accuracy: float | None = None


@dataclass(frozen=True)
class TrainingLog:
    """A TF MNIST pod log read as metrics."""

    generation: LogGeneration
    job_name: str | None = None
    task_index: int | None = None
    ps_replicas: int | None = None
    steps: tuple[TrainingStep, ...] = ()
    epochs: tuple[EpochSummary, ...] = ()
    elapsed_seconds: float | None = None
    train_steps: int | None = None
    """The configured --train_steps, as the classic cross-entropy line prints it."""
    cross_entropy: float | None = None
    """Classic: summed over the validation images; chief: the mean over the test images."""
    accuracy: float | None = None

    @property
    def global_step(self) -> int | None:
        """The last global step this worker saw; None without step lines."""
        return self.steps[-1].global_step if self.steps else None

    @property
    def steps_per_second(self) -> float | None:
        """This replica's own steps over the training time it printed (local steps, or fit steps)."""
        count = len(self.steps) or sum(epoch.steps for epoch in self.epochs)
        if not count or not self.elapsed_seconds:
            return None
        return count / self.elapsed_seconds

    @property
    def global_steps_per_second(self) -> float | None:
        """How fast the shared global step advanced while this worker watched (all workers' work)."""
        if len(self.steps) < 2 or self.steps[-1].timestamp <= self.steps[0].timestamp:
            return None
        first, last = self.steps[0], self.steps[-1]
        return (last.global_step - first.global_step) / (last.timestamp - first.timestamp)


def step_of(line: str) -> TrainingStep | None:
    match = STEP.search(line)
    if match is None:
        return None
    return TrainingStep(float(match["time"]), int(match["worker"]), int(match["local"]), int(match["global"]))


class _Reader:
    """Accumulates one log line by line; the last `Epoch` header numbers the next fit summary."""

    def __init__(self) -> None:
        self.values: dict[str, float | int | str] = {}
        self.steps: list[TrainingStep] = []
        self.epochs: list[EpochSummary] = []
        self.epoch: tuple[int, int] = (0, 0)
        self.chief = False

    def read(self, line: str) -> None:
        line = line.strip()
        self.chief = self.chief or line.startswith(CHIEF_MARKERS)
        if (step := step_of(line)) is not None:
            self.steps.append(step)
        elif (match := CROSS_ENTROPY.match(line)) is not None:
            self.values.update(train_steps=int(match["steps"]), cross_entropy=float(match["value"]))
        elif (match := EVALUATION.match(line)) is not None:
            self.values["accuracy" if match["name"] == "accuracy" else "cross_entropy"] = float(match["value"])
        elif (match := EPOCH.match(line)) is not None:
            self.epoch = (int(match["epoch"]), int(match["epochs"]))
        elif (match := FIT_SUMMARY.match(line)) is not None:
            self.epochs.append(fit_summary(match, epoch=self.epoch))
        else:
            self.read_scalar(line)

    def read_scalar(self, line: str) -> None:
        patterns = {
            "job_name": (JOB_NAME, "name", str),
            "task_index": (TASK_INDEX, "index", int),
            "elapsed_seconds": (ELAPSED, "seconds", float),
            "accuracy": (VALIDATION_ACCURACY, "value", float),
            "ps_replicas": (PS_REPLICAS, "count", int),
        }
        for key, (pattern, group, kind) in patterns.items():
            if (match := pattern.match(line)) is not None:
                self.values[key] = kind(match[group])
                return

    def generation(self) -> LogGeneration:
        if self.chief or self.epochs:
            return LogGeneration.CHIEF
        if self.steps or {"job_name", "cross_entropy"} & self.values.keys():
            return LogGeneration.CLASSIC
        return LogGeneration.UNKNOWN


def fit_summary(match: re.Match[str], *, epoch: tuple[int, int]) -> EpochSummary:
    seconds = float(match["time"]) / (1000 if match["unit"] == "ms" else 1)
    accuracy = float(match["accuracy"]) if match["accuracy"] is not None else None
    steps = int(match["steps"])
    return EpochSummary(epoch[0], epoch[1], steps, seconds, float(match["loss"]), accuracy)


def parse_lines(lines: Iterable[str]) -> TrainingLog:
    """The metrics of a log given as lines (a followed log can be fed as it streams)."""
    reader = _Reader()
    for line in lines:
        reader.read(line)
    values = reader.values

    def number(key: str) -> float | None:
        value = values.get(key)
        return float(value) if value is not None else None

    def integer(key: str) -> int | None:
        value = values.get(key)
        return int(value) if value is not None else None

    return TrainingLog(
        generation=reader.generation(),
        job_name=str(values["job_name"]) if "job_name" in values else None,
        task_index=integer("task_index"),
        ps_replicas=integer("ps_replicas"),
        steps=tuple(reader.steps),
        epochs=tuple(reader.epochs),
        elapsed_seconds=number("elapsed_seconds"),
        train_steps=integer("train_steps"),
        cross_entropy=number("cross_entropy"),
        accuracy=number("accuracy"),
    )


def parse_training_log(text: str) -> TrainingLog:
    """The metrics of a whole pod log."""
    return parse_lines(text.splitlines())
