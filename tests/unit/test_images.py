"""Dockerfile reading and image reference resolution for the embedded node."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kfval.embedded.images import aliases, dockerfile, resolving

TRAINER = """\
# syntax=docker/dockerfile:1
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim AS runtime
ARG APP_HOME=/opt/app
ENV PYTHONUNBUFFERED=1 \\
    APP_HOME=${APP_HOME} \\
    GREETING="hello world"
ENV LEGACY value with spaces
WORKDIR $APP_HOME
WORKDIR src
COPY --chown=1000:1000 train.py ./
COPY data/ /opt/data/
RUN pip install -r requirements.txt
USER 1000
EXPOSE 8080 9090/udp
LABEL org.example.name="trainer" version=1
ENTRYPOINT ["python3", "train.py"]
CMD --epochs 2
"""


def test_dockerfile_applies_args_env_workdir_and_commands() -> None:
    parsed = dockerfile.parse(TRAINER)
    assert parsed.base == "python:3.11-slim"
    assert parsed.env == {
        "PYTHONUNBUFFERED": "1",
        "APP_HOME": "/opt/app",
        "GREETING": "hello world",
        "LEGACY": "value with spaces",
    }
    assert parsed.workdir == "/opt/app/src"
    assert parsed.copies == (
        dockerfile.Copy(("train.py",), "/opt/app/src/", 11),
        dockerfile.Copy(("data/",), "/opt/data/", 12),
    )
    assert parsed.entrypoint == ("python3", "train.py")
    assert parsed.cmd == ("/bin/sh", "-c", "--epochs 2")
    assert parsed.exposed == ("8080", "9090/udp")
    assert parsed.labels == {"org.example.name": "trainer", "version": "1"}
    assert parsed.user == "1000"
    assert any("RUN ignored" in note for note in parsed.notes)
    assert any("--chown=1000:1000 ignored" in note for note in parsed.notes)


def test_build_args_override_defaults_and_global_args_need_redeclaring() -> None:
    text = (
        "ARG TAG=1\nARG NAME=global\nFROM busybox:$TAG\n"
        "ARG NAME\nARG OTHER=x\nENV A=$NAME B=${OTHER:-y} C=${MISSING:-z}"
    )
    parsed = dockerfile.parse(text, build_args={"TAG": "2", "OTHER": "built"})
    assert parsed.base == "busybox:2"
    assert parsed.env == {"A": "global", "B": "built", "C": "z"}


def test_env_on_one_line_sees_the_values_before_it_and_escaped_dollar_stays() -> None:
    parsed = dockerfile.parse("FROM x\nENV A=1\nENV A=2 B=$A C=\\$A")
    assert parsed.env == {"A": "2", "B": "1", "C": "$A"}


def test_exec_form_shell_form_and_multi_stage_keep_the_last_stage() -> None:
    text = 'FROM a AS build\nENV STAGE=build\nCMD ["make"]\nFROM b\nCOPY --from=build /out /app\nCMD echo "$HOME"'
    parsed = dockerfile.parse(text)
    assert parsed.base == "b"
    assert parsed.env == {}
    assert parsed.cmd == ("/bin/sh", "-c", 'echo "$HOME"')
    assert parsed.copies[0].from_stage == "build"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ADD https://example.com/x.tgz /x", "fetching URLs"),
        ("ADD model.tar.gz /models/", "unpacking archives"),
        ("COPY onlyone", "source and a destination"),
        ("FROBNICATE now", "unknown instruction"),
    ],
)
def test_dockerfile_refuses_what_the_node_cannot_do(line: str, message: str) -> None:
    with pytest.raises(dockerfile.DockerfileError, match=message):
        dockerfile.parse(f"FROM x\n{line}")


def test_instruction_before_from_and_missing_from_are_errors() -> None:
    with pytest.raises(dockerfile.DockerfileError, match="before FROM"):
        dockerfile.parse("ENV A=1\nFROM x")
    with pytest.raises(dockerfile.DockerfileError, match="no FROM"):
        dockerfile.parse("# nothing\n")


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    trainer = tmp_path / "trainer"
    (trainer / "data" / "nested").mkdir(parents=True)
    (trainer / "train.py").write_text("print('train')\n")
    (trainer / "data" / "a.txt").write_text("a")
    (trainer / "data" / "nested" / "b.txt").write_text("b")
    (trainer / "bin").mkdir()
    (trainer / "bin" / "kfval-tool").write_text("#!/bin/sh\n")
    (trainer / "Dockerfile").write_text(
        "FROM python:3.11\nWORKDIR /app\nCOPY train.py .\nCOPY data /opt/data\nCOPY bin/ /usr/local/bin/\n"
        'ENV MODE=test\nENTRYPOINT ["python3"]\nCMD ["train.py"]\n'
    )
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Dockerfile").write_text("FROM x\nCOPY missing.txt /x\n")
    return tmp_path


def test_project_image_references_resolve_to_its_files_and_config(images_dir: Path) -> None:
    resolver = resolving.ImageResolver(images_dir)
    trainer = images_dir.resolve() / "trainer"
    for reference in ("kfval/trainer", "kfval/trainer:v1", "localhost/kfval/trainer:latest", "kfval/trainer@sha256:ab"):
        content = resolver.resolve(reference)
        assert content is not None, reference
        assert content.name == "trainer"
    content = resolver.resolve("kfval/trainer")
    assert content is not None
    assert content.mounts == (
        resolving.ImageFile(trainer / "train.py", "/app/train.py"),
        resolving.ImageFile(trainer / "data", "/opt/data"),
        resolving.ImageFile(trainer / "bin" / "kfval-tool", "/usr/local/bin/kfval-tool"),
    )
    assert content.env == {"MODE": "test"}
    assert content.workdir == "/app"
    assert (content.entrypoint, content.cmd) == (("python3",), ("train.py",))


def test_the_runner_image_is_built_from_the_project_folder_with_its_own_dockerfile() -> None:
    project = Path.cwd().resolve()
    resolver = resolving.ImageResolver(
        project / "images", outside_images={"runner": (project / "deploy/runner/Dockerfile", project)}
    )
    content = resolver.resolve("kfval/runner:latest")
    assert content is not None
    mounts = {mount.target: mount.source for mount in content.mounts}
    assert mounts["/suite/src"] == project / "src"
    assert mounts["/suite/features"] == project / "features"
    assert mounts["/suite/radish.ini"] == project / "radish.ini"
    assert content.workdir == "/suite"
    assert content.env["PYTHONPATH"] == "/suite/src"
    assert content.env["KFVAL_TARGET_IN_CLUSTER"] == "true"
    assert content.entrypoint == ("kfval", "run")
    assert resolving.ImageResolver(project / "images").resolve("kfval/runner") is None


@pytest.mark.parametrize(
    "reference", ["busybox", "busybox:1.36", "docker.io/library/alpine:3.19", "docker.io/python:3.11", "ubuntu"]
)
def test_host_stands_in_for_base_images(images_dir: Path, reference: str) -> None:
    content = resolving.ImageResolver(images_dir).resolve(reference)
    assert content is not None
    assert content.mounts == ()
    assert content.cmd is not None


def test_unknown_images_and_unusable_project_images_resolve_to_nothing(
    images_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = resolving.ImageResolver(images_dir)
    assert resolver.resolve("kfval/nosuchimage") is None
    assert resolver.resolve("quay.io/someone/busybox") is None
    assert resolver.resolve("registry.example/kfval/trainer") is None
    with caplog.at_level(logging.ERROR):
        assert resolver.resolve("kfval/broken") is None
    assert "missing.txt" in caplog.text


def test_aliases_map_reference_prefixes_to_project_images_or_the_host(images_dir: Path) -> None:
    aliases = {"docker.io/kubeflowkatib/pytorch-mnist": "trainer", "gcr.io/kubeflow-images-public/": "host"}
    resolver = resolving.ImageResolver(images_dir, aliases)
    mnist = resolver.resolve("kubeflowkatib/pytorch-mnist:v1beta1-45c5727")
    assert mnist is not None
    assert mnist.name == "trainer"
    notebook = resolver.resolve("gcr.io/kubeflow-images-public/tensorflow-notebook:1.0")
    assert notebook is not None
    assert notebook.mounts == ()


@pytest.mark.parametrize(
    "reference",
    [
        "kubeflownotebookswg/jupyter-scipy:v1.9.2",
        "docker.io/kubeflownotebookswg/jupyter-pytorch-full:v1.8.0",
        "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-tensorflow-full:v1.10.0",
    ],
)
def test_kubeflows_jupyter_images_are_the_projects_notebook_image(reference: str) -> None:
    resolver = resolving.ImageResolver(Path(__file__).resolve().parents[2] / "images", aliases.KUBEFLOW_EXAMPLE_IMAGES)
    image = resolver.resolve(reference)
    assert image is not None
    assert "jupyter lab" in " ".join(image.cmd)
    assert "--ServerApp.base_url=" in " ".join(image.cmd)
