"""The Kaniko stand-in's command line and exit codes, as spf13/pflag, cobra and Kaniko's main decide them."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from kfval.embedded.kaniko import __main__ as executor
from kfval.embedded.kaniko import building, executing, flags, remote
from kfval.embedded.kaniko.releases import Release

NEWEST = Release.from_tag("latest")
FAIRING = Release.from_tag("v0.22.0")


def test_every_spelling_pflag_accepts() -> None:
    argv = ["--dockerfile=Dockerfile", "-c", "dir:///ctx", "-d", "r/a:1", "--destination", "r/b:2"]
    argv += ["--no-push", "--cache=true", "--cache-repo=r/cache", "--build-arg", "A=1", "--build-arg=B=2"]
    argv += ["--label=team=ml", "--target", "final", "--single-snapshot", "-fother", "--verbosity=warn"]
    options = flags.parse(argv, NEWEST)
    assert options.text("dockerfile") == "other"
    assert options.text("context") == "dir:///ctx"
    assert options.destinations == ("r/a:1", "r/b:2")
    assert options.flag("no-push") and options.flag("cache") and options.flag("single-snapshot")
    assert options.items("build-arg") == ("A=1", "B=2")
    assert (options.items("label"), options.text("target"), options.text("verbosity")) == (
        ("team=ml",),
        "final",
        "warn",
    )


def test_defaults_are_kanikos() -> None:
    options = flags.parse([], NEWEST)
    assert (options.text("dockerfile"), options.text("context"), options.text("verbosity")) == (
        "Dockerfile",
        "/workspace/",
        "info",
    )
    assert not options.flag("no-push") and options.destinations == ()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nope"], "unknown flag: --nope"),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["--destination"], "flag needs an argument: --destination"),
        (
            ["--no-push=yes"],
            'invalid argument "yes" for "--no-push" flag: strconv.ParseBool: parsing "yes": invalid syntax',
        ),
        (
            ["--push-retry=two"],
            'invalid argument "two" for "--push-retry" flag: strconv.ParseInt: parsing "two": invalid syntax',
        ),
        (["build"], 'unknown command "build" for "executor"'),
    ],
)
def test_refusals_are_cobras(argv: list[str], message: str) -> None:
    with pytest.raises(flags.FlagError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        flags.parse(argv, NEWEST)


def test_tar_path_is_spelled_by_release() -> None:
    with pytest.raises(flags.FlagError, match="unknown flag: --tar-path"):
        flags.parse(["--tar-path=/out.tar"], Release.from_tag("v1.9.0"))
    assert flags.parse(["--tarPath=/out.tar"], FAIRING).tar_path == "/out.tar"
    assert flags.parse(["--tar-path=/out.tar"], NEWEST).tar_path == "/out.tar"
    deprecated = flags.parse(["--tarPath=/out.tar"], NEWEST)
    assert (deprecated.tar_path, deprecated.warnings) == (
        "/out.tar",
        ("Flag --tarPath is deprecated. Use: --tar-path",),
    )


def test_releases_from_tags() -> None:
    assert Release.from_tag("v1.9.0-debug").version == (1, 9, 0)
    assert Release.from_tag("debug") == NEWEST
    assert not FAIRING.passes_run_exit_code and not FAIRING.logs_push and not FAIRING.logs_stages
    assert Release.from_tag("v1.7.0").passes_run_exit_code and not Release.from_tag("v1.6.0").passes_run_exit_code


@pytest.mark.parametrize(("tag", "code"), [("v1.23.2", 3), ("v1.7.0", 3), ("v1.6.0", 1), ("v0.22.0", 1)])
def test_a_failing_run_passes_its_code_from_v1_7(tag: str, code: int) -> None:
    failure = building.BuildError("error building stage: ...: exit status 3", 3)
    assert executing.exit_code(failure, Release.from_tag(tag)) == code
    assert executing.exit_code(building.BuildError("error building stage: no such file"), Release.from_tag(tag)) == 1


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[int, str, str]:
    monkeypatch.setenv("KANIKO_DIR", str(tmp_path / "kaniko"))
    monkeypatch.setenv("KFVAL_KANIKO_VERSION", "v1.23.2")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = executor.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--context=dir:///nowhere"], "you must provide --destination, or use --no-push"),
        (
            ["--no-push", "--cache"],
            "cache flags invalid: if using cache with --no-push, specify cache repo with --cache-repo",
        ),
        (["--no-push", "--context=ftp://x"], "error resolving source context: unknown build context prefix provided"),
        (
            ["--no-push", "--context=/nowhere"],
            "error resolving dockerfile path: please provide a valid path to a Dockerfile",
        ),
        (["--bogus"], "unknown flag: --bogus"),
        (["--verbosity=loud", "--no-push"], 'parsing log level: not a valid logrus Level: "loud"'),
    ],
)
def test_usage_errors_exit_1_with_cobras_error_line(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, err = _run(argv, monkeypatch, tmp_path)
    assert code == 1
    assert out == ""
    assert err.startswith(f"Error: {message}")
    assert "Usage:\n  executor [flags]" in err


def test_the_dockerfile_is_found_in_the_context_and_copied_where_kaniko_reads_it(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    options = flags.parse(["--no-push", f"--context=dir://{tmp_path / 'ctx'}"], NEWEST)
    prepared = executing.prepare(options, tmp_path)
    assert prepared.context == tmp_path / "ctx"
    assert prepared.dockerfile == tmp_path / "Dockerfile"
    assert prepared.dockerfile.read_text() == "FROM scratch\n"


def test_the_cache_repo_is_inferred_from_the_destination(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "k").mkdir()
    options = flags.parse(["--cache", "-d", "reg.local:5000/team/app:1", f"--context={tmp_path}"], NEWEST)
    assert executing.prepare(options, tmp_path / "k").cache_repo == "reg.local:5000/team/app/cache"


def test_insecure_and_skip_tls_verify_flags_choose_how_each_registry_is_reached() -> None:
    options = flags.parse(["--insecure-registry=reg.example.com", "--skip-tls-verify-pull", "--no-push"], NEWEST)
    assert executing.access(options, "reg.example.com", push=True) == remote.Access(plain=True, verify=True)
    assert executing.access(options, "gcr.io", push=True) == remote.Access(plain=False, verify=True)
    assert executing.access(options, "gcr.io", push=False) == remote.Access(plain=False, verify=False)
    assert executing.access(options, "gcr.io", push=True).tls_verify
    assert not executing.access(options, "registry.kube-system.svc.cluster.local:5000", push=True).tls_verify
