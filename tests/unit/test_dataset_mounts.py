"""Project images get offline data sets bound read-only where their labels ask, and Kubeflow's
example image names resolve to the project's pytorch-mnist image."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kfval.embedded.images import aliases, datasetmounts, resolving

PROJECT_IMAGES = Path(__file__).resolve().parents[2] / "images"


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "images" / "trainer"
    folder.mkdir(parents=True)
    (folder / "train.py").write_text("print('hi')\n")
    (folder / "Dockerfile").write_text(
        "FROM python:3.11-slim\nCOPY train.py /opt/train/\nLABEL dev.kfval.dataset.mnist=/data/mnist other=x\n"
    )
    return tmp_path / "images"


def test_a_dataset_label_binds_the_prepared_folder_at_its_path(images_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "datasets" / "mnist").mkdir(parents=True)
    resolver = resolving.ImageResolver(images_dir, datasets_dir=tmp_path / "datasets")
    content = resolver.resolve("kfval/trainer:1")
    assert content is not None
    assert resolving.ImageFile((tmp_path / "datasets" / "mnist").resolve(), "/data/mnist") in content.mounts
    assert resolving.ImageFile((images_dir / "trainer" / "train.py").resolve(), "/opt/train/train.py") in content.mounts


def test_without_the_data_set_the_image_still_runs_and_the_node_says_why(
    images_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for datasets_dir in (None, tmp_path / "empty"):
        content = resolving.ImageResolver(images_dir, datasets_dir=datasets_dir).resolve("kfval/trainer")
        assert content is not None
        assert [item.target for item in content.mounts] == ["/opt/train/train.py"]
    assert "wants data set 'mnist' at /data/mnist" in caplog.text


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"dev.kfval.dataset.../etc": "/data"}, "not a data set name"),
        ({"dev.kfval.dataset.mnist": "data/mnist"}, "absolute path"),
        ({"dev.kfval.dataset.mnist": "/"}, "absolute path"),
    ],
)
def test_unusable_dataset_labels_are_refused(labels: dict[str, str], message: str, tmp_path: Path) -> None:
    with pytest.raises(datasetmounts.DatasetLabelError, match=message):
        datasetmounts.dataset_mounts(labels, datasets_dir=tmp_path, image="x")


def test_a_refused_label_makes_the_image_unusable(images_dir: Path, tmp_path: Path) -> None:
    (images_dir / "trainer" / "Dockerfile").write_text("FROM python\nLABEL dev.kfval.dataset.mnist=relative\n")
    assert resolving.ImageResolver(images_dir, datasets_dir=tmp_path).resolve("kfval/trainer") is None


@pytest.mark.parametrize(
    "reference",
    [
        "kubeflow/pytorch-dist-mnist:latest",
        "docker.io/kubeflow/pytorch-dist-mnist:v1-855b1d2",
        "kubeflow/pytorch-dist-mnist-test:1.0",
        "gcr.io/kubeflow-ci/pytorch-dist-mnist_test:1.0",
        "docker.io/kubeflowkatib/pytorch-mnist:v1beta1-45c5727",
        "docker.io/kubeflowkatib/pytorch-mnist-cpu:latest",
        "kfval/pytorch-mnist",
    ],
)
def test_kubeflow_example_images_resolve_to_the_project_image(reference: str, tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    resolver = resolving.ImageResolver(PROJECT_IMAGES, aliases.KUBEFLOW_EXAMPLE_IMAGES, datasets_dir=tmp_path)
    content = resolver.resolve(reference)
    assert content is not None
    assert content.name == aliases.PYTORCH_MNIST
    assert content.entrypoint == ("python", "/opt/mnist/mnist.py")
    assert content.workdir == "/opt/mnist"
    targets = {item.target for item in content.mounts}
    for folder in ("/opt/mnist", "/opt/mnist/src", "/opt/pytorch-mnist"):
        assert {f"{folder}/mnist.py", f"{folder}/idx_dataset.py", f"{folder}/log_lines.py"} <= targets
    assert "/data/mnist" in targets


def test_other_images_are_not_taken_for_the_example() -> None:
    resolver = resolving.ImageResolver(PROJECT_IMAGES, aliases.KUBEFLOW_EXAMPLE_IMAGES)
    assert resolver.resolve("kubeflow/pytorch-mnist:1") is None
    assert resolver.resolve("docker.io/someone/pytorch-dist-mnist:1") is None
