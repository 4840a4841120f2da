"""Where a training run is now, read from the end of its pod's log: the epoch, how far into it, the loss.

While the suite waits for a PyTorchJob or TFJob, the console shows how far training has come, so
a QA engineer sees that a ten-minute wait is moving. The same lines the metric parsers read
(pytorch.py, tensorflow.py) say it: the last `Train Epoch` line of a PyTorch MNIST log, the last
`global step` of a classic TF worker, the last Keras `Epoch e/n` header and its summary of a TF 2
chief. Reading is pure and tolerant: a log with none of them has no position.
"""

from __future__ import annotations

from dataclasses import dataclass

from kfval.metrics import pytorch, tensorflow


@dataclass(frozen=True)
class Position:
    """How far one pod's training has come; each field is None when its log does not say."""

    epoch: int | None = None
    epochs: int | None = None
    percent: int | None = None
    loss: float | None = None
    global_step: int | None = None

    def facts(self) -> tuple[str, ...]:
        """`epoch 1`, `63%`, `loss 0.21` (or `epoch 1/2`, `global step 520`): what the console shows."""
        found = []
        if self.epoch is not None:
            found.append(f"epoch {self.epoch}" + (f"/{self.epochs}" if self.epochs else ""))
        if self.global_step is not None:
            found.append(f"global step {self.global_step}")
        if self.percent is not None:
            found.append(f"{self.percent}%")
        if self.loss is not None:
            found.append(f"loss {self.loss:.4g}")
        return tuple(found)


def latest(text: str) -> Position | None:
    """The position the last training line of `text` gives, or None when no line says one."""
    for raw in reversed(text.splitlines()):
        line = raw.rstrip()
        if (point := pytorch.loss_point(line)) is not None:
            return Position(epoch=point.epoch, percent=point.percent, loss=point.loss)
        if (step := tensorflow.step_of(line)) is not None:
            return Position(global_step=step.global_step)
        if (summary := tensorflow.FIT_SUMMARY.match(line)) is not None:
            return _keras(text, loss=float(summary["loss"]))
        if (header := tensorflow.EPOCH.match(line)) is not None:
            return Position(epoch=int(header["epoch"]), epochs=int(header["epochs"]))
    return None


def _keras(text: str, *, loss: float) -> Position:
    """A Keras epoch summary belongs to the `Epoch e/n` header above it."""
    for line in reversed(text.splitlines()):
        if (header := tensorflow.EPOCH.match(line.rstrip())) is not None:
            return Position(epoch=int(header["epoch"]), epochs=int(header["epochs"]), loss=loss)
    return Position(loss=loss)
