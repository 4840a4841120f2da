"""The tf-mnist image's parts that need no TensorFlow: TF_CONFIG as the operator writes it, the
Dockerfile as the embedded node applies it, the example-image aliases, and the IDX reader it
shares (as a copy) with the pytorch-mnist image."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kfval.embedded.images import aliases, resolving

IMAGES_DIR = Path(__file__).resolve().parents[2] / "images"
PROGRAM_DIR = IMAGES_DIR / "tf-mnist"


@pytest.fixture(scope="module")
def tf_config() -> ModuleType:
    """The image's module under a name of its own (dataclasses look their module up while defined)."""
    name = "tf_mnist_image_tf_config"
    spec = importlib.util.spec_from_file_location(name, PROGRAM_DIR / "tf_config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_operators_tf_config_for_a_worker(tf_config: ModuleType) -> None:
    value = (
        '{"cluster":{"ps":["dist-mnist-ps-0.kubeflow.svc:2222","dist-mnist-ps-1.kubeflow.svc:2222"],'
        '"worker":["dist-mnist-worker-0.kubeflow.svc:2222","dist-mnist-worker-1.kubeflow.svc:2222"]},'
        '"task":{"type":"worker","index":1},"environment":"cloud"}'
    )
    task = tf_config.from_environment({"TF_CONFIG": value})
    assert (task.job_name, task.index) == ("worker", 1)
    assert task.hosts("ps") == ("dist-mnist-ps-0.kubeflow.svc:2222", "dist-mnist-ps-1.kubeflow.svc:2222")
    assert task.address == "dist-mnist-worker-1.kubeflow.svc:2222"
    assert task.hosts("chief") == ()


def test_the_sparse_form_of_dynamic_workers(tf_config: ModuleType) -> None:
    value = {"cluster": {"worker": {"10": "w-10:2222", "2": "w-2:2222"}, "ps": ["p:2222"]}, "task": {"type": "ps"}}
    task = tf_config.parse(json.dumps(value))
    assert (task.job_name, task.index, task.hosts("worker")) == ("ps", 0, ("w-2:2222", "w-10:2222"))


def test_no_tf_config_means_a_single_replica(tf_config: ModuleType) -> None:
    assert tf_config.from_environment({}) is None
    assert tf_config.from_environment({"TF_CONFIG": "  "}) is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("{not json", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"task": {"type": "worker", "index": 0}}', "needs a `cluster` object"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}', "worker:1 is not in the cluster"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": true}}', "integer `index`"),
        ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker"}}', "cluster.worker is neither"),
    ],
)
def test_malformed_tf_config_is_named(tf_config: ModuleType, value: str, words: str) -> None:
    with pytest.raises(tf_config.TFConfigError, match="TF_CONFIG") as raised:
        tf_config.parse(value)
    assert words in str(raised.value)


def test_the_example_images_resolve_to_the_project_image(tmp_path: Path) -> None:
    resolver = resolving.ImageResolver(IMAGES_DIR, aliases.KUBEFLOW_EXAMPLE_IMAGES, datasets_dir=tmp_path)
    (tmp_path / "mnist").mkdir()
    for reference in (
        "kubeflow/tf-dist-mnist-test:1.0",
        "docker.io/kubeflow/tf-dist-mnist-test:latest",
        "gcr.io/kubeflow-ci/tf-dist-mnist-test:v1-855e096",
        "kfval/tf-mnist",
    ):
        content = resolver.resolve(reference)
        assert content is not None, reference
        assert content.name == "tf-mnist"
        assert content.entrypoint == ("python", "/var/tf_dist_mnist/dist_mnist.py")
    assert content.env["TF_USE_LEGACY_KERAS"] == "1"
    assert (content.env["TF_NUM_INTRAOP_THREADS"], content.env["TF_NUM_INTEROP_THREADS"]) == ("1", "2")
    targets = {mount.target: mount.source for mount in content.mounts}
    assert targets["/data/mnist"] == tmp_path / "mnist"
    for home in ("/var/tf_dist_mnist", "/opt/tf-mnist"):
        for program in ("dist_mnist.py", "pss_mnist.py", "idx_dataset.py", "tf_config.py"):
            assert targets[f"{home}/{program}"] == PROGRAM_DIR / program


def test_the_idx_reader_is_the_pytorch_images_copy() -> None:
    """A build context cannot reach outside its folder, so each image carries its own copy."""
    ours = (PROGRAM_DIR / "idx_dataset.py").read_bytes()
    assert ours == (IMAGES_DIR / "pytorch-mnist" / "idx_dataset.py").read_bytes()
