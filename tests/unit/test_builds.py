"""What the suite knows about Fairing's Kaniko builds: the builder's arguments, Kaniko's exit codes per
release, credentials and their masking, and how a pushed image, a built app and a tarball are judged."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kfval.kube import errors
from kfval.kubeflow import builds, images
from kfval.report.redaction import Redactor

ROOT = Path(__file__).resolve().parents[2]
BUILDER = builds.Builder(
    registry="registry.example:5000",
    username="robot",
    password="s3cret-pw",
    base_image="registry.example:5000/base/tensorflow:2.21.0",
)


def build(**fields: object) -> builds.Build:
    values: dict[str, object] = {
        "job": "fairing-builder-x", "pod": "fairing-builder-x-1", "phase": "Failed", "exit_code": 1,
        "termination_message": "", "log": "", "seconds": 1.0,
    }  # fmt: skip
    return builds.Build(**{**values, **fields})  # type: ignore[arg-type]


def test_the_builder_gets_fairings_arguments_and_the_digest_as_its_termination_message() -> None:
    args = builds.kaniko_args(BUILDER, "app", destination="registry.example:5000/kfval/ns-app:latest")
    assert args == [
        "--dockerfile=Dockerfile",
        "--context=dir:///workspace/builds/app",
        "--destination=registry.example:5000/kfval/ns-app:latest",
        "--build-arg=BASE_IMAGE=registry.example:5000/base/tensorflow:2.21.0",
        "--digest-file=/dev/termination-log",
    ]
    insecure = builds.Builder(registry="r:5000", base_image="r:5000/b", insecure=True)
    assert builds.kaniko_args(insecure, "app", destination="r:5000/x")[-2:] == ["--insecure", "--insecure-pull"]


@pytest.mark.parametrize(
    ("image", "code"),
    [("gcr.io/kaniko-project/executor:v1.23.2", 3), ("gcr.io/kaniko-project/executor:v1.7.0", 3),
     ("gcr.io/kaniko-project/executor:v1.6.1", 1), ("gcr.io/kaniko-project/executor:v0.22.0", 1),
     ("gcr.io/kaniko-project/executor:latest", 3), ("mirror.local/kaniko/executor:1.9.2-debug", 3)],
)  # fmt: skip
def test_a_failing_run_exits_with_its_own_code_from_kaniko_1_7(image: str, code: int) -> None:
    assert builds.run_failure_exit_code(image, 3) == code


def test_the_docker_config_carries_the_credentials_as_auth() -> None:
    document = json.loads(base64.b64decode(builds.docker_config(BUILDER)))
    assert document == {"auths": {"registry.example:5000": {"auth": base64.b64encode(b"robot:s3cret-pw").decode()}}}
    wrong = json.loads(base64.b64decode(builds.docker_config(BUILDER, password="nope")))
    assert base64.b64decode(wrong["auths"]["registry.example:5000"]["auth"]) == b"robot:nope"


def test_credentials_leak_when_the_log_shows_them_or_the_reports_would() -> None:
    redactor = Redactor()
    assert builds.credential_leaks(BUILDER, "clean log", ["s3cret-pw"], redactor.redact) == [
        "the reports would show registry credentials: they are not registered for masking"
    ]
    for form in builds.credential_forms(BUILDER):
        redactor.register(form)
    assert builds.credential_leaks(BUILDER, "clean log", ["s3cret-pw"], redactor.redact) == []
    assert builds.credential_leaks(BUILDER, "auth robot:s3cret-pw", ["s3cret-pw"], redactor.redact) == [
        "the builder's log carries registry credentials"
    ]
    auth = base64.b64encode(b"robot:s3cret-pw").decode()
    assert auth not in redactor.redact(f'{{"auth": "{auth}"}}'), "the config.json form is masked too"


def test_a_failed_build_is_judged_by_phase_exit_code_and_whether_it_began() -> None:
    builds.expect_failed(build(exit_code=3), exit_code=3)
    with pytest.raises(errors.ExpectationError, match="exited with 1, expected 3"):
        builds.expect_failed(build(exit_code=1), exit_code=3)
    began = build(log="\x1b[36mINFO\x1b[0m[0000] Retrieving image manifest base\nerror checking push permissions\n")
    with pytest.raises(errors.ExpectationError, match="started building") as caught:
        builds.expect_failed(began, exit_code=1, before_building=True)
    assert "its last log line: error checking push permissions" in str(caught.value)
    with pytest.raises(errors.ExpectationError, match="is Succeeded, expected Failed"):
        builds.expect_failed(build(phase="Succeeded", exit_code=0), exit_code=0)


def test_the_error_line_is_the_last_line_without_colour_codes() -> None:
    done = build(log="\x1b[36mINFO\x1b[0m[0000] RUN exit 3\nerror building image: exit status 3\n\n")
    assert done.error_line == "error building image: exit status 3"
    assert done.says("INFO[0000] RUN exit 3")


def test_a_pushed_config_is_judged_for_user_command_folder_and_environment() -> None:
    config = {"User": "1000", "Cmd": ["python3", "/app/app.py"], "WorkingDir": "/app/", "Env": ["FAIRING_RUNTIME=1"]}
    expected = {"cmd": "python3 /app/app.py", "workdir": "/app/", "env": {"FAIRING_RUNTIME": "1"}}
    assert images.config_mismatches(config, **expected) == []  # type: ignore[arg-type]
    wrong = {"User": "0:0", "Cmd": ["sh"], "WorkingDir": "/", "Env": []}
    assert images.config_mismatches(wrong, **expected) == [  # type: ignore[arg-type]
        "config.User is '0:0': the image runs as root",
        "config.Cmd is ['sh'], expected 'python3 /app/app.py'",
        "config.WorkingDir is '/', expected '/app/'",
        "config.Env FAIRING_RUNTIME is None, expected '1'",
    ]
    assert images.config_mismatches({}, **expected)[0] == "config.User is '': the image runs as root"  # type: ignore[arg-type]


def test_the_built_app_must_show_its_run_step_as_its_own_non_root_user_on_tensorflow() -> None:
    good = {"uid": 1000, "cwd": "/app", "run_step": "written by the RUN step as uid 1000", "fairing_runtime": "1",
            "tensorflow": "2.21.0"}  # fmt: skip
    log = "some warning\n" + json.dumps(good) + "\n"
    assert images.app_mismatches(images.app_report(log)) == []
    as_root = {**good, "uid": 0, "run_step": "written by the RUN step as uid 0", "tensorflow": None}
    assert images.app_mismatches(as_root) == [
        "the app runs as uid 0, not as a non-root user",
        "the app finds no TensorFlow: the image is not built on the TensorFlow base",
    ]
    assert images.app_mismatches(images.app_report("no json here")) == ["the app printed no JSON line about its image"]


def test_a_tarball_must_name_the_destination_and_hold_layers() -> None:
    listed = json.dumps([{"Config": "c.json", "RepoTags": ["r:5000/kfval/ns-tarred:latest"], "Layers": ["a.tar"]}])
    assert images.tarball_mismatches(listed, "r:5000/kfval/ns-tarred:latest") == []
    assert images.tarball_mismatches(listed, "r:5000/other:latest") == [
        "the tarball names ['r:5000/kfval/ns-tarred:latest'], not r:5000/other:latest"
    ]
    assert images.tarball_mismatches("tar: manifest.json: Not found", "x")[0].startswith("the tarball's manifest.json")


def test_a_build_context_is_saved_under_the_workspaces_builds_folder() -> None:
    files = builds.context_files(ROOT / "manifests/build-contexts/app")
    assert sorted(files) == ["builds/app/Dockerfile", "builds/app/app.py"]
    assert "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n" in files["builds/app/Dockerfile"]
