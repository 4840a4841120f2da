"""MNIST under ParameterServerStrategy, as the TF 2 generation of Kubeflow's TFJob example does it.

In November 2024 the training operator's dist-mnist example moved to TF 2: a Chief coordinates,
parameter servers hold the variables, workers run the steps the chief schedules, and only the
chief trains, evaluates and exits (workers and parameter servers serve until the job ends them).
Its log differs from the TF 1 generation's (`Number of PS replicas: N`, `Training begins @
<ctime>`, Keras progress, `Training elapsed time: <float> s`, `Evaluation accuracy: %f`), and the
suite reads both. So this variant runs that shape with tf-keras (`TF_USE_LEGACY_KERAS=1`: Keras 3
has no ParameterServerStrategy support in `fit`) and the example's flags and lines, reading MNIST
from the IDX files, and adds one line, `Evaluation cross entropy: %f`, the mean test loss.

Start it as `python /opt/tf-mnist/pss_mnist.py` in every replica of a TFJob with a Chief, PS and
Workers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("GRPC_FAIL_FAST", "use_caller")  # worker failures reach the coordinator

import idx_dataset
import numpy as np
import tensorflow as tf
import tf_config

DEFAULT_DATA_DIR = "/data/mnist"
DOWNLOAD_CACHE = Path("/tmp/mnist-data")
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
SHUFFLE_BUFFER = 10000
MIN_SHARD_BYTES = 256 << 10
"""Variables above this size are split across the parameter servers, as the example does."""
SERVING_JOBS = ("worker", "ps")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The TF 2 example's flags, plus --data_dir for the IDX files."""
    parser = argparse.ArgumentParser(description="Distributed MNIST (TFJob example, ParameterServerStrategy)")
    parser.add_argument("--data_dir", default=os.environ.get("MNIST_DIR", DEFAULT_DATA_DIR))
    parser.add_argument("--data_path", default="mnist.npz", help="accepted; MNIST comes from --data_dir")
    parser.add_argument("--dropout", type=float, default=0.9, help="keep probability while training")
    parser.add_argument("--batch_size", type=int, default=100)
    parser.add_argument("--learning_rate", type=float, default=0.001)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--fake_data", nargs="?", const=True, type=bool, default=False, help="accepted; ignored")
    return parser.parse_args(argv)


def build_model(*, dropout: float, learning_rate: float) -> Any:
    """The example's model: Flatten, Dense 128 ReLU, Dropout, Dense 10 softmax."""
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=(28, 28)),
            tf.keras.layers.Dense(128, activation="relu"),
            tf.keras.layers.Dropout(1.0 - dropout),
            tf.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def mnist_folder(data_dir: Path) -> Path:
    """The folder holding the four IDX files: the offline one, else the download cache (filled now).

    The workers build the input pipeline and read the files themselves, so every replica runs
    this before it serves: each ends up with the same folder, at the same path.
    """
    if idx_dataset.offline_files(data_dir) is not None:
        return data_dir
    if idx_dataset.offline_files(DOWNLOAD_CACHE) is None:
        idx_dataset.downloaded_files(DOWNLOAD_CACHE, offline=data_dir)
    return DOWNLOAD_CACHE


def idx_records(path: Path, *, header_bytes: int, record_bytes: int) -> Any:
    """One gzip IDX file as a dataset of raw uint8 records."""
    dataset = tf.data.FixedLengthRecordDataset(
        str(path), record_bytes, header_bytes=header_bytes, compression_type="GZIP"
    )
    return dataset.map(lambda record: tf.io.decode_raw(record, tf.uint8))


def training_input(folder: Path, *, batch_size: int) -> Any:
    """A DatasetCreator: each worker reads the training files and builds the pipeline itself."""

    def dataset_fn(context: Any) -> Any:
        images = idx_records(folder / TRAIN_IMAGES, header_bytes=16, record_bytes=28 * 28)
        labels = idx_records(folder / TRAIN_LABELS, header_bytes=8, record_bytes=1)
        dataset = tf.data.Dataset.zip((images, labels))
        dataset = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        dataset = dataset.shuffle(SHUFFLE_BUFFER).repeat()
        dataset = dataset.map(
            lambda image, label: (tf.reshape(tf.cast(image, tf.float32) / 255.0, (28, 28)), tf.cast(label[0], tf.int64))
        )
        return dataset.batch(batch_size).prefetch(2)

    return tf.keras.utils.experimental.DatasetCreator(dataset_fn)


def evaluate(model: Any, test: idx_dataset.Split) -> tuple[float, float]:
    """(accuracy, mean cross entropy) over the 10 000 test images, computed on the chief."""
    probabilities = model(test.images.astype(np.float32) / 255.0, training=False).numpy()
    picked = probabilities[np.arange(len(test.labels)), test.labels]
    cross_entropy = float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == test.labels))
    return accuracy, cross_entropy


def coordinate(args: argparse.Namespace, resolver: Any, *, num_ps: int) -> None:
    """The chief: train through the workers, then evaluate and print the example's closing lines."""
    partitioner = tf.distribute.experimental.partitioners.MinSizePartitioner(
        min_shard_bytes=MIN_SHARD_BYTES, max_shards=num_ps
    )
    strategy = tf.distribute.ParameterServerStrategy(resolver, variable_partitioner=partitioner)
    folder = mnist_folder(Path(args.data_dir))
    _, test = idx_dataset.load(folder, cache=DOWNLOAD_CACHE)
    with strategy.scope():
        model = build_model(dropout=args.dropout, learning_rate=args.learning_rate)
    begin = time.time()
    print(f"Training begins @ {time.ctime(begin)}", flush=True)
    steps_per_epoch = 6000 // args.batch_size * 2
    model.fit(
        training_input(folder, batch_size=args.batch_size),
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        verbose=2,
    )
    end = time.time()
    print(f"Training ends @ {time.ctime(end)}")
    print(f"Training elapsed time: {end - begin} s")
    accuracy, cross_entropy = evaluate(model, test)
    print("Evaluation accuracy: %f" % accuracy)  # noqa: UP031 (the example's format)
    print("Evaluation cross entropy: %f" % cross_entropy, flush=True)  # noqa: UP031


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    print(f"Run script with {args=}", flush=True)
    try:
        task = tf_config.from_environment(os.environ)
    except tf_config.TFConfigError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    if task is None or not task.hosts("ps"):
        print("error: No PS replicas found in the cluster configuration.", file=sys.stderr, flush=True)
        return 2
    print(f"Number of PS replicas: {len(task.hosts('ps'))}", flush=True)
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    try:
        if task.job_name not in SERVING_JOBS:
            coordinate(args, resolver, num_ps=len(task.hosts("ps")))
            return 0
        if task.job_name == "worker":
            mnist_folder(Path(args.data_dir))  # the chief's pipelines will read it here
    except idx_dataset.DatasetUnavailableError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    server = tf.distribute.Server(
        resolver.cluster_spec(), job_name=task.job_name, task_index=task.index, protocol="grpc", start=True
    )
    server.join()  # serves until the job's end kills the pod
    return 0


if __name__ == "__main__":
    sys.exit(main())
