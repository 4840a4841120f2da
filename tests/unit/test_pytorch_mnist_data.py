"""The pytorch-mnist image's data loading: the offline folder first, then the mirrors, and an
error naming both when neither has MNIST. Mirrors here are loopback servers, never the internet."""

from __future__ import annotations

import gzip
import http.server
import importlib.util
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from kfval.embedded import datasets

PROGRAM_DIR = Path(__file__).resolve().parents[2] / "images" / "pytorch-mnist"


@pytest.fixture(scope="module")
def idx_dataset() -> ModuleType:
    spec = importlib.util.spec_from_file_location("idx_dataset", PROGRAM_DIR / "idx_dataset.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """Four small IDX files with the canonical names, written by the setup's own encoder."""
    rng = np.random.default_rng(7)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(6, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([9, 8, 7], dtype=np.uint8),
    }
    for name, array in arrays.items():
        (tmp_path / name).write_bytes(gzip.compress(datasets.idx_bytes(array)))
    return tmp_path


@pytest.fixture
def wrong_mirror(tmp_path: Path) -> Iterator[str]:
    """A loopback server that answers every file with bytes of the wrong checksum."""
    (tmp_path / "mirror").mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (tmp_path / "mirror" / name).write_bytes(b"not mnist")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path / "mirror"), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_offline_folder_is_read_as_idx(idx_dataset: ModuleType, tiny_mnist: Path, tmp_path: Path) -> None:
    train, test = idx_dataset.load(tiny_mnist, cache=tmp_path / "unused")
    assert train.images.shape == (6, 28, 28) and train.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert test.labels.tolist() == [9, 8, 7]
    assert not (tmp_path / "unused").exists()


def test_idx_headers_are_checked(idx_dataset: ModuleType) -> None:
    with pytest.raises(ValueError, match="unsigned-byte IDX"):
        idx_dataset.parse_idx(bytes.fromhex("00000d01") + b"\0\0\0\1" + b"\0\0\0\0")


def test_without_the_folder_or_a_mirror_the_error_names_both(
    idx_dataset: ModuleType, tmp_path: Path, wrong_mirror: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = f"http://127.0.0.1:{closed_port()}/"
    monkeypatch.setattr(idx_dataset, "MIRRORS", (refused, wrong_mirror))
    with pytest.raises(idx_dataset.DatasetUnavailableError) as raised:
        idx_dataset.load(tmp_path / "absent", cache=tmp_path / "cache")
    message = str(raised.value)
    assert f"not in the offline folder {tmp_path / 'absent'}" in message
    assert f"could not be downloaded from {refused}, {wrong_mirror}" in message
    assert "Connection refused" in message
    assert f"{wrong_mirror}train-images-idx3-ubyte.gz: MD5 mismatch" in message
