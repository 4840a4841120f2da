"""What the Kaniko stand-in prints: logrus' formats, buildah's steps told as Kaniko's, registry errors in
go-containerregistry's words, credentials found where Kaniko finds them."""

from __future__ import annotations

import base64
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from kfval.embedded.dockerconfig import Credential
from kfval.embedded.kaniko import building, contexts, credentials, logs, remote
from kfval.embedded.kaniko.releases import Release


def _logger(level: str = "info", log_format: str = "color") -> tuple[logs.Logger, io.StringIO]:
    logger = logs.Logger(level, log_format)
    logger.stream = io.StringIO()
    return logger, logger.stream


def test_color_format_is_logrus_forced_colours_with_seconds_since_start() -> None:
    logger, stream = _logger()
    logger.info("Retrieving image manifest python:3.11")
    logger.warn("careful")
    logger.debug("hidden at info")
    assert stream.getvalue() == (
        "\x1b[36mINFO\x1b[0m[0000] Retrieving image manifest python:3.11\n\x1b[33mWARN\x1b[0m[0000] careful\n"
    )


def test_text_and_json_formats_and_levels() -> None:
    logger, stream = _logger("warn", "text")
    logger.info("not shown")
    logger.warn('a "quoted" word')
    assert stream.getvalue().endswith(' level=warning msg="a \\"quoted\\" word"\n')
    logger, stream = _logger(log_format="json")
    logger.info("pushed")
    assert json.loads(stream.getvalue())["msg"] == "pushed"
    with pytest.raises(logs.LogConfigError, match="not a valid log format"):
        logs.Logger("info", "xml")


BUILDAH_OUTPUT = """STEP 1/4: FROM reg.local:5000/base/python:3.11
Trying to pull reg.local:5000/base/python:3.11...
Getting image source signatures
Copying blob sha256:e08df33bf14c
STEP 2/4: WORKDIR /app/
--> Pushing cache reg.local:5000/cache:88ab
--> 317297a6bd4
STEP 3/4: RUN echo hi && exit 0
--> Cache pulled from remote reg.local:5000/cache:72061e
--> Using cache fabe32b7a869f48e5f7dd6e23ef91d3af52bf955c7d7f3f63383dffee649f70c
STEP 4/4: RUN ["python3", "-c", "print(1)"]
1
--> Pushing cache reg.local:5000/cache:9f00
COMMIT localhost/kaniko-build:latest
--> d0c93e7bacf
Successfully tagged localhost/kaniko-build:latest
d0c93e7bacfc4d9cd70cda42bc039b6d2d9ecfe621d2e4844e8e692cf79be043"""


def test_buildah_steps_are_told_as_kanikos() -> None:
    logger, stream = _logger()
    stages = contexts.stages(
        "FROM reg.local:5000/base/python:3.11\nWORKDIR /app/\nRUN echo hi && exit 0\n"
        'RUN ["python3", "-c", "print(1)"]\n',
        {},
    )
    narrator = building.Narrator(logger, Release.from_tag("latest"), cache=True, stages=stages)
    printed = io.StringIO()
    with redirect_stdout(printed):
        for line in BUILDAH_OUTPUT.splitlines():
            step = building.STEP.match(line)
            narrator.step(step.group(1)) if step else narrator.line(line)
        narrator.finish()
    messages = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()]
    assert messages == [
        "Executing 0 build triggers",
        "Building stage 'reg.local:5000/base/python:3.11' [idx: '0', base-idx: '-1']",
        "Unpacking rootfs as cmd RUN echo hi && exit 0 requires it.",
        "WORKDIR /app/",
        "Cmd: workdir",
        "Changed working directory to /app/",
        "Taking snapshot of files...",
        "Checking for cached layer reg.local:5000/cache:72061e...",
        "Using caching version of cmd: RUN echo hi && exit 0",
        'No cached layer found for cmd RUN ["python3", "-c", "print(1)"]',
        'RUN ["python3", "-c", "print(1)"]',
        "Initializing snapshotter ...",
        "Taking snapshot of full filesystem...",
        "Cmd: python3",
        "Args: [-c print(1)]",
        "Running: [python3 -c print(1)]",
        "Pushing layer reg.local:5000/cache:9f00 to cache now",
    ]
    assert printed.getvalue() == "1\n"


def test_registry_errors_read_as_go_containerregistry_writes_them() -> None:
    body = {
        "errors": [
            {
                "code": "UNAUTHORIZED",
                "message": "authentication required",
                "detail": [
                    {"Type": "repository", "Class": "", "Name": "team/app", "Action": "pull"},
                    {"Type": "repository", "Class": "", "Name": "team/app", "Action": "push"},
                ],
            }
        ]
    }
    url = "http://reg.local:5000/v2/team/app/blobs/uploads/"
    assert remote.error_text("POST", url, 401, "Unauthorized", json.dumps(body).encode()) == (
        f"POST {url}: UNAUTHORIZED: authentication required; [map[Action:pull Class: Name:team/app "
        "Type:repository] map[Action:push Class: Name:team/app Type:repository]]"
    )
    assert (
        remote.error_text("GET", url, 502, "Bad Gateway", b"") == f"GET {url}: unexpected status code 502 Bad Gateway"
    )


@pytest.mark.parametrize(
    ("registry", "plain"),
    [("localhost:5000", True), ("registry.kube-system.svc.cluster.local:5000", True), ("10.244.3.1:5000", True),
     ("127.0.0.1", True), ("gcr.io", False), ("8.8.8.8:443", False)],
)  # fmt: skip
def test_plain_http_where_go_containerregistry_uses_it(registry: str, plain: bool) -> None:
    assert remote.plain_http(registry, insecure=False) is plain


def test_image_names_as_go_containerregistry_parses_them() -> None:
    assert str(remote.ImageName.parse("python:3.11")) == "index.docker.io/library/python:3.11"
    assert str(remote.ImageName.parse("reg.local:5000/team/app")) == "reg.local:5000/team/app:latest"


def test_credentials_from_docker_config_with_auth_or_username(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    auth = base64.b64encode(b"robot:s3cret").decode()
    config.write_text(
        json.dumps(
            {"auths": {"https://reg.local:5000/v1/": {"auth": auth}, "other:5000": {"username": "u", "password": "p"}}}
        )
    )
    keychain = credentials.Keychain.load(config)
    assert keychain.resolve("reg.local:5000") == Credential("robot", "s3cret")
    assert keychain.resolve("other:5000") == Credential("u", "p")
    assert keychain.resolve("elsewhere") is None
    written = json.loads(keychain.write_authfile(tmp_path / "auth.json", {"other:5000"}).read_text())
    assert written == {"auths": {"other:5000": {"auth": base64.b64encode(b"u:p").decode()}}}
    assert "s3cret" not in repr(keychain.resolve("reg.local:5000"))


def test_a_config_mounted_as_a_directory_is_kanikos_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").mkdir()
    with pytest.raises(credentials.CredentialsError, match=r"config\.json: is a directory"):
        credentials.Keychain.load(tmp_path / "config.json")
    env = {"HOME": str(tmp_path / "home"), "DOCKER_CONFIG": str(tmp_path)}
    assert credentials.config_path(env) == tmp_path / "config.json"


def test_aliased_bases_are_rewritten_and_stages_read() -> None:
    text = "ARG BASE=gcr.io/kubeflow-images-public/fairing:dev\nFROM ${BASE} AS build\nRUN x\nFROM build\n"
    stages = contexts.stages(text, {})
    assert [(s.base, s.name) for s in stages] == [
        ("gcr.io/kubeflow-images-public/fairing:dev", "build"),
        ("build", None),
    ]
    rewritten = contexts.rewrite_bases(
        "FROM gcr.io/kubeflow-images-public/fairing:dev\nRUN x\n",
        {"gcr.io/kubeflow-images-public/fairing:dev": "r/base/python:3.11"},
    )
    assert rewritten == "FROM r/base/python:3.11\nRUN x\n"
