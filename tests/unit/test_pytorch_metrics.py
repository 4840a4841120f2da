"""PyTorch MNIST log parsing: golden tests on logs the pytorch-mnist image wrote on the embedded
cluster (tests/unit/fixtures/logs/), plus the older format and the odd lines real logs carry."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from kfval.metrics import pytorch

LOGS = Path(__file__).parent / "fixtures" / "logs"


def sample(name: str) -> str:
    return (LOGS / name).read_text()


def test_current_generation_master_log() -> None:
    log = pytorch.parse_training_log(sample("pytorch_mnist_master.log"))
    assert log.generation is pytorch.LogGeneration.CURRENT
    assert (log.backend, log.world_size, log.rank) == ("gloo", 2, 0)
    assert len(log.losses) == 47
    assert log.losses[0] == pytorch.LossPoint(epoch=1, seen=0, total=60000, percent=0, loss=2.3227)
    assert log.losses[1] == pytorch.LossPoint(epoch=1, seen=640, total=60000, percent=2, loss=1.3452)
    assert log.losses[-1] == pytorch.LossPoint(epoch=1, seen=29440, total=60000, percent=98, loss=0.0728)
    assert log.results == (pytorch.EpochResult(epoch=1, accuracy=0.9887),)
    assert log.accuracy == 0.9887
    assert log.test_loss is None
    assert log.final_loss == 0.0728
    assert [point.position for point in log.losses[:3]] == [0.0, 0.02, 0.04]


def test_current_generation_worker_log_reports_the_same_accuracy() -> None:
    log = pytorch.parse_training_log(sample("pytorch_mnist_worker.log"))
    assert (log.generation, log.rank, log.world_size) == (pytorch.LogGeneration.CURRENT, 1, 2)
    assert log.losses[0].loss == 2.2973
    assert log.final_loss == 0.0380
    assert log.accuracy == 0.9887


def test_katib_generation_log() -> None:
    log = pytorch.parse_training_log(sample("katib_pytorch_mnist_master.log"))
    assert log.generation is pytorch.LogGeneration.KATIB
    assert (log.backend, log.world_size, log.rank) == ("gloo", None, None)
    assert len(log.losses) == 47
    assert log.losses[1] == pytorch.LossPoint(epoch=1, seen=640, total=60000, percent=2, loss=1.3452)
    assert log.results == (pytorch.EpochResult(epoch=1, accuracy=0.9887, test_loss=0.0380),)
    assert log.test_loss == 0.0380


def test_a_run_that_never_tested_has_no_accuracy() -> None:
    text = sample("pytorch_mnist_no_data.log")
    log = pytorch.parse_training_log(text)
    assert log.accuracy is None
    assert log.final_loss is None
    assert pytorch.parse_training_log(text).accuracy is None
    assert log.generation is pytorch.LogGeneration.CURRENT
    cut = "\n".join(sample("pytorch_mnist_master.log").splitlines()[:30])
    assert pytorch.parse_training_log(cut).accuracy is None
    assert len(pytorch.parse_training_log(cut).losses) == 26


def test_previous_generation_has_no_world_line_and_numbers_each_epoch() -> None:
    text = (
        "Using distributed PyTorch with gloo backend\n"
        "Train Epoch: 1 [0/60000 (0%)]\tloss=2.3004\n"
        "Train Epoch: 1 [59520/60000 (99%)]\tloss=0.4415\n"
        "\naccuracy=0.9010\n\n"
        "Train Epoch: 2 [0/60000 (0%)]\tloss=0.3011\n"
        "\naccuracy=0.9391\n\n"
    )
    log = pytorch.parse_training_log(text)
    assert log.generation is pytorch.LogGeneration.PREVIOUS
    assert log.results == (pytorch.EpochResult(1, 0.9010), pytorch.EpochResult(2, 0.9391))
    assert log.accuracy == 0.9391
    assert [point.position for point in log.losses] == [0.0, 0.99, 1.0]


def test_nan_losses_and_crlf_and_timestamped_lines() -> None:
    text = (
        "2026-11-28T15:15:38.123456789Z Train Epoch: 3 [640/60000 (1%)]\tloss=nan\r\n"
        "2026-11-28T15:15:39.000000000Z accuracy=0.0980\r\n"
    )
    log = pytorch.parse_training_log(text)
    assert log.losses[0].epoch == 3 and math.isnan(log.losses[0].loss)
    assert math.isnan(log.final_loss or 0.0)
    assert log.results == (pytorch.EpochResult(3, 0.0980),)


@pytest.mark.parametrize(
    "line",
    [
        "Train Epoch: x [0/60000 (0%)]\tloss=2.3",
        "Train Epoch: 1 [0/60000]\tloss=2.3",
        "my_accuracy=0.99",
        "accuracy=0.99 (not final)",
        "{metricName: loss, metricValue: 0.1}",
        "",
    ],
)
def test_lines_that_are_not_the_formats_are_ignored(line: str) -> None:
    log = pytorch.parse_training_log(line)
    assert (log.losses, log.results, log.generation) == ((), (), pytorch.LogGeneration.UNKNOWN)


def test_lines_can_be_fed_as_a_followed_log_streams() -> None:
    lines = iter(sample("pytorch_mnist_master.log").splitlines())
    assert pytorch.parse_lines(lines) == pytorch.parse_training_log(sample("pytorch_mnist_master.log"))
