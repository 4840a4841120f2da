"""TF MNIST log parsing: golden tests on logs the tf-mnist image wrote on the embedded cluster
(tests/unit/fixtures/logs/tf_*.log: 1 PS + 2 workers for 1000 steps; chief + PS + worker under
ParameterServerStrategy for 3 epochs), plus the upstream example's lines and odd values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from kfval.metrics import tensorflow

LOGS = Path(__file__).parent / "fixtures" / "logs"


def sample(name: str) -> tensorflow.TrainingLog:
    return tensorflow.parse_training_log((LOGS / name).read_text())


def test_classic_chief_worker_log() -> None:
    log = sample("tf_dist_mnist_worker_0.log")
    assert log.generation is tensorflow.LogGeneration.CLASSIC
    assert (log.job_name, log.task_index, log.ps_replicas) == ("worker", 0, None)
    assert len(log.steps) == 533
    assert log.steps[0] == tensorflow.TrainingStep(1795881001.117362, worker=0, local_step=1, global_step=0)
    assert log.steps[-1] == tensorflow.TrainingStep(1795881011.384095, worker=0, local_step=533, global_step=1001)
    assert log.global_step == 1001
    assert (log.elapsed_seconds, log.train_steps) == (10.363609, 1000)
    assert (log.cross_entropy, log.accuracy) == (558.358, 0.9662)
    assert log.steps_per_second == pytest.approx(533 / 10.363609)
    assert log.global_steps_per_second == pytest.approx(1001 / (1795881011.384095 - 1795881001.117362))
    assert log.epochs == ()


def test_classic_second_worker_joins_late_and_shares_the_global_step() -> None:
    log = sample("tf_dist_mnist_worker_1.log")
    assert (log.job_name, log.task_index) == ("worker", 1)
    assert log.steps[0] == tensorflow.TrainingStep(1795881002.271778, worker=1, local_step=1, global_step=87)
    assert (len(log.steps), log.global_step, log.elapsed_seconds) == (470, 1002, 9.386742)
    # Both workers evaluate the same shared variables once training has ended.
    assert log.cross_entropy == sample("tf_dist_mnist_worker_0.log").cross_entropy


def test_each_worker_sees_its_own_local_steps_and_the_shared_global_step() -> None:
    worker_0, worker_1 = sample("tf_dist_mnist_worker_0.log"), sample("tf_dist_mnist_worker_1.log")
    assert (worker_0.steps[-1].worker, worker_0.steps[-1].local_step, worker_0.global_step) == (0, 533, 1001)
    assert (worker_1.steps[-1].worker, worker_1.steps[-1].local_step, worker_1.global_step) == (1, 470, 1002)
    assert sample("tf_dist_mnist_ps_0.log").steps == ()


def test_a_parameter_server_log_has_identity_and_nothing_else() -> None:
    log = sample("tf_dist_mnist_ps_0.log")
    assert (log.generation, log.job_name, log.task_index) == (tensorflow.LogGeneration.CLASSIC, "ps", 0)
    assert (log.steps, log.cross_entropy, log.global_step, log.steps_per_second) == ((), None, None, None)


def test_chief_log_with_parameter_server_strategy() -> None:
    log = sample("tf_pss_mnist_chief.log")
    assert log.generation is tensorflow.LogGeneration.CHIEF
    assert (log.ps_replicas, log.job_name, log.steps) == (1, None, ())
    assert log.epochs == (
        tensorflow.EpochSummary(epoch=1, epochs=3, steps=120, seconds=10.0, loss=0.6994, accuracy=0.8043),
        tensorflow.EpochSummary(epoch=2, epochs=3, steps=120, seconds=4.0, loss=0.3352, accuracy=0.9038),
        tensorflow.EpochSummary(epoch=3, epochs=3, steps=120, seconds=3.0, loss=0.2777, accuracy=0.9195),
    )
    assert log.elapsed_seconds == 17.4835684299469
    assert (log.accuracy, log.cross_entropy) == (0.9342, 0.231361)
    assert log.steps_per_second == pytest.approx(360 / 17.4835684299469)
    assert log.global_steps_per_second is None


def test_a_serving_worker_under_the_strategy_reports_no_results() -> None:
    log = sample("tf_pss_mnist_worker_0.log")
    assert (log.generation, log.ps_replicas, log.accuracy, log.elapsed_seconds) == (
        tensorflow.LogGeneration.CHIEF,
        1,
        None,
        None,
    )


def test_upstream_classic_lines_with_exponent_and_no_accuracy() -> None:
    text = (
        "job name = worker\n"
        "task index = 3\n"
        "Worker 3: Waiting for session to be initialized...\n"
        "Using existing server at: grpc://dist-mnist-worker-3.kubeflow.svc:2222\n"
        "Worker 3: Session initialization complete.\n"
        "Training begins @ 1520000000.000000\n"
        "1520000000.500000: Worker 3: training step 1 done (global step: 17)\n"
        "1520000001.500000: Worker 3: training step 2 done (global step: 57)\n"
        "Training ends @ 1520000002.000000\n"
        "Training elapsed time: 2.000000 s\n"
        "After 20000 training step(s), validation cross entropy = 1.2345e+03\n"
    )
    log = tensorflow.parse_training_log(text)
    assert (log.generation, log.task_index, log.train_steps) == (tensorflow.LogGeneration.CLASSIC, 3, 20000)
    assert (log.cross_entropy, log.accuracy) == (1234.5, None)
    assert (log.steps_per_second, log.global_steps_per_second) == (1.0, 40.0)


def test_upstream_chief_lines_without_cross_entropy() -> None:
    text = (
        "Run script with args=Namespace(data_path='mnist.npz', dropout=0.9, batch_size=100)\n"
        "Number of PS replicas: 2\n"
        "Training begins @ Mon Nov  4 10:00:00 2024\n"
        "Epoch 1/5\n"
        "120/120 - 712ms - loss: 0.5 - 712ms/epoch - 6ms/step\n"
        "Training ends @ Mon Nov  4 10:00:01 2024\n"
        "Training elapsed time: 1.5 s\n"
        "Evaluation accuracy: 0.961200\n"
    )
    log = tensorflow.parse_training_log(text)
    assert (log.generation, log.ps_replicas) == (tensorflow.LogGeneration.CHIEF, 2)
    assert log.epochs == (tensorflow.EpochSummary(1, 5, steps=120, seconds=0.712, loss=0.5, accuracy=None),)
    assert (log.accuracy, log.cross_entropy, log.elapsed_seconds) == (0.9612, None, 1.5)
    assert log.steps_per_second == 80.0


def test_a_diverged_run_and_a_cut_log() -> None:
    diverged = tensorflow.parse_training_log("After 100 training step(s), validation cross entropy = nan\n")
    assert diverged.cross_entropy is not None and math.isnan(diverged.cross_entropy)
    cut = "\n".join((LOGS / "tf_dist_mnist_worker_0.log").read_text().splitlines()[:40])
    log = tensorflow.parse_training_log(cut)
    assert (log.generation, log.cross_entropy, log.elapsed_seconds) == (tensorflow.LogGeneration.CLASSIC, None, None)
    assert log.steps and log.steps_per_second is None


def test_unrelated_text_is_unknown() -> None:
    log = tensorflow.parse_training_log("hello\nTrain Epoch: 1 [0/60000 (0%)]\tloss=2.3\n")
    assert log == tensorflow.TrainingLog(generation=tensorflow.LogGeneration.UNKNOWN)
