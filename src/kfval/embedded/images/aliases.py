"""Kubeflow's example images, answered by the project's own images.

The upstream examples and the suite's manifests name images such as
`kubeflow/pytorch-dist-mnist:latest` that the embedded node cannot pull. A project image that
runs the same program with the same flags and log lines stands in for each, so a manifest copied
from the Kubeflow docs runs unchanged. Keys are reference prefixes; a key also matches with or
without Docker Hub's `docker.io/` prefix and with any tag or digest (see `ImageResolver.alias_for`).
"""

from __future__ import annotations

from collections.abc import Mapping

PYTORCH_MNIST = "pytorch-mnist"
TF_MNIST = "tf-mnist"
NOTEBOOK = "notebook"

KUBEFLOW_EXAMPLE_IMAGES: Mapping[str, str] = {
    # training-operator examples/pytorch/mnist, published by its CI; `-test` is the docs-era name
    "kubeflow/pytorch-dist-mnist": PYTORCH_MNIST,
    "gcr.io/kubeflow-ci/pytorch-dist-mnist": PYTORCH_MNIST,
    # Katib's example, used by training-operator examples/pytorch/simple.yaml (also `-cpu`, `-gpu`)
    "kubeflowkatib/pytorch-mnist": PYTORCH_MNIST,
    # training-operator examples/tensorflow/dist-mnist (TFJob `dist-mnist-for-e2e-test`) and its
    # docs-era home on gcr.io; the project image accepts dist_mnist.py's flags
    "kubeflow/tf-dist-mnist-test": TF_MNIST,
    "gcr.io/kubeflow-ci/tf-dist-mnist-test": TF_MNIST,
    # the Jupyter images the Jupyter Web App offers (Kubeflow 1.8-1.9 on Docker Hub, 1.10 on ghcr.io):
    # a JupyterLab server with the python3 kernel, started under NB_PREFIX
    **{
        f"{registry}/jupyter{flavour}": NOTEBOOK
        for registry in ("kubeflownotebookswg", "ghcr.io/kubeflow/kubeflow/notebook-servers")
        for flavour in ("", "-scipy", "-pytorch", "-pytorch-full", "-tensorflow", "-tensorflow-full")
    },
}
"""Reference prefix -> project image (a folder under `images/`)."""
