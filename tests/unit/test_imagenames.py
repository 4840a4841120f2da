"""Image references are read as a kubelet reads them, so a mistyped one stops the run before a pod waits in
InvalidImageName."""

from __future__ import annotations

import pytest

from kfval.kube import imagenames


@pytest.mark.parametrize(
    "reference",
    [
        "kfval/pytorch-mnist:latest",
        "busybox",
        "gcr.io/kaniko-project/executor:v1.23.2",
        "localhost:5000/kfval/notebook",
        "registry.kube-system.svc.cluster.local:5000/base/tensorflow:2.21.0",
        "kubeflownotebookswg/jupyter-tensorflow-full:v1.9.2",
        "Registry.Example.com/team/app:Release_1",
        "[::1]:5000/kfval/app:1",
        f"docker.io/library/python@sha256:{'ab' * 32}",
        f"kfval/app:1.0@sha256:{'0' * 64}",
    ],
)
def test_references_a_kubelet_pulls_pass(reference: str) -> None:
    assert imagenames.problem(reference) is None


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        ("", "it is empty"),
        ("  ", "it is empty"),
        ("https://registry.example.com/kfval/app:1", "no scheme"),
        ("kfval/pytorch mnist:1", "no spaces"),
        ("kfval/PyTorch-MNIST:latest", "repository names are lowercase"),
        ("registry.example.com:5000/Team/app", "repository names are lowercase"),
        ("kfval/app:", "it does not read as [registry[:port]/]repository[:tag]"),
        ("kfval/app::1", "it does not read as"),
        ("/kfval/app", "it does not read as"),
        ("kfval/app@sha256:abc", "it does not read as"),
        ("kfval//app", "it does not read as"),
    ],
)
def test_references_a_kubelet_refuses_say_why(reference: str, why: str) -> None:
    problem = imagenames.problem(reference)
    assert problem is not None and why in problem, problem
