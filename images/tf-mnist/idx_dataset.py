"""MNIST as the four canonical gzip IDX files: read from an offline folder, else from the mirrors.

The Kubeflow example downloads MNIST through torchvision; this image carries no torchvision, and
on a machine without the internet the embedded cluster binds a prepared copy of the same four
files at the image's dataset path. So the program looks there first and only then downloads,
from the mirrors torchvision uses, checking the same MD5 sums. When neither works the error
names both the folder it looked in and the mirrors it tried.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
"""torchvision's MNIST mirrors, in its order."""
FILE_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
DOWNLOAD_TIMEOUT_SECONDS = 60.0
IDX_UBYTE = 0x08


class DatasetUnavailableError(Exception):
    """MNIST is neither in the offline folder nor reachable on any mirror."""


@dataclass(frozen=True)
class Split:
    """uint8 images (n, 28, 28) and their uint8 labels (n,)."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.uint8]


def parse_idx(data: bytes) -> npt.NDArray[np.uint8]:
    """An IDX array of unsigned bytes: two zero bytes, type 0x08, rank, big-endian sizes, data."""
    zero, kind, rank = struct.unpack_from(">HBB", data)
    if zero != 0 or kind != IDX_UBYTE:
        raise ValueError(f"not an unsigned-byte IDX file (header {data[:4].hex()})")
    shape = struct.unpack_from(f">{rank}I", data, 4)
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    return body.reshape(shape)


def offline_files(folder: Path) -> dict[str, bytes] | None:
    """The four files from `folder`, None when any is missing there."""
    paths = {name: folder / name for name in FILE_MD5}
    if not all(path.is_file() for path in paths.values()):
        return None
    return {name: path.read_bytes() for name, path in paths.items()}


def download(name: str) -> bytes:
    """One file from the first mirror that serves it with the right MD5 sum."""
    failures = []
    for mirror in MIRRORS:
        try:
            with urllib.request.urlopen(mirror + name, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
                data: bytes = response.read()
        except (urllib.error.URLError, OSError) as error:
            failures.append(f"{mirror}{name}: {error}")
            continue
        if hashlib.md5(data).hexdigest() == FILE_MD5[name]:
            return data
        failures.append(f"{mirror}{name}: MD5 mismatch")
    raise DatasetUnavailableError("; ".join(failures))


def downloaded_files(cache: Path, *, offline: Path) -> dict[str, bytes]:
    """The four files from the mirrors, kept in `cache` when it is writable."""
    files = {}
    for name in FILE_MD5:
        try:
            files[name] = download(name)
        except DatasetUnavailableError as error:
            raise DatasetUnavailableError(
                f"MNIST is not in the offline folder {offline} (expected {', '.join(FILE_MD5)}) "
                f"and could not be downloaded from {', '.join(MIRRORS)}: {error}"
            ) from None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (cache / name).write_bytes(data)
    except OSError:
        pass  # a read-only place: the data is in memory and this run needs nothing more
    return files


def load(folder: Path, *, cache: Path) -> tuple[Split, Split]:
    """(train, test) from `folder`, else from the mirrors (kept in `cache`)."""
    files = offline_files(folder) or offline_files(cache) or downloaded_files(cache, offline=folder)

    def split(prefix: str) -> Split:
        images = parse_idx(gzip.decompress(files[f"{prefix}-images-idx3-ubyte.gz"]))
        labels = parse_idx(gzip.decompress(files[f"{prefix}-labels-idx1-ubyte.gz"]))
        if len(images) != len(labels):
            raise ValueError(f"{prefix}: {len(images)} images but {len(labels)} labels")
        return Split(images=images, labels=labels)

    return split("train"), split("t10k")
