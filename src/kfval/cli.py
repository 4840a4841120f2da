"""The `kfval` command: run the suite, check features without a cluster, re-render reports, manage
the embedded cluster, clean up after a run.

Subcommands arrive with the capabilities they serve: `run`, `lint`, `report`, `janitor`, `cluster`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from kfval import janitoring, settings
from kfval.bdd import lifecycle, linting
from kfval.embedded import launch
from kfval.kube.errors import KfvalError
from kfval.report import html, junit, reading, redaction

STEPS = Path("steps")
MANIFESTS = Path("manifests")


def _cluster_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cluster = subparsers.add_parser("cluster", help="start, stop or inspect the embedded cluster")
    verbs = cluster.add_subparsers(dest="verb", required=True)
    up = verbs.add_parser("up", help="start the embedded cluster (foreground unless --detach)")
    up.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    up.add_argument(
        "--tls",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve https with a self-signed CA (default; kubectl and Helm send the token only over TLS)",
    )
    up.add_argument("--detach", action="store_true", help="start in the background and return once ready")
    up.add_argument("--images-dir", type=Path, default=None, help="folder of workload images (default ./images)")
    up.add_argument(
        "--keep-registry", action="store_true", help="keep the image registry's contents after `cluster down`"
    )
    for name, text in (
        ("down", "stop the embedded cluster and every pod it runs"),
        ("status", "tell whether the embedded cluster runs, and where"),
    ):
        verbs.add_parser(name, help=text)
    for parser in (up, verbs.choices["down"], verbs.choices["status"]):
        parser.add_argument(
            "--state-dir",
            type=Path,
            default=launch.DEFAULT_STATE_DIR,
            help=f"where the cluster keeps its kubeconfig, logs and volumes (default {launch.DEFAULT_STATE_DIR})",
        )


def _cluster(args: argparse.Namespace) -> int:
    if args.verb == "up":
        options = {
            "port": args.port,
            "tls": args.tls,
            "images_dir": args.images_dir,
            "keep_registry": args.keep_registry,
        }
        if not args.detach:
            return launch.run_foreground(args.state_dir, **options)
        started = launch.start(args.state_dir, **options)
        print(f"embedded cluster ready at {started.server} (pid {started.pid})\nexport KUBECONFIG={started.kubeconfig}")
        print(_registry_lines(started))
        return 0
    if args.verb == "down":
        stopped = launch.stop(args.state_dir)
        print("embedded cluster stopped" if stopped else f"no embedded cluster runs from {args.state_dir}")
        return 0
    info = launch.find(args.state_dir)
    if info is None:
        print(f"no embedded cluster runs from {args.state_dir}")
        return 1
    state = "ready" if launch.is_ready(info) else "not ready"
    print(f"embedded cluster {state} at {info.server} (pid {info.pid})\nkubeconfig: {info.kubeconfig}")
    print(_registry_lines(info))
    return 0 if state == "ready" else 1


def _registry_lines(info: launch.ClusterInfo) -> str:
    """Where the cluster's registry answers and its credentials (the cluster is local and throwaway)."""
    registry = info.registry
    if registry is None:
        return "image registry: none (see the cluster log)"
    return (
        f"image registry: {registry.name} in pods, {registry.address} from this host (plain HTTP)\n"
        f"registry credentials: {registry.username} / {registry.password}"
    )


def _run_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = subparsers.add_parser("run", help="run the features with radish (extra arguments go to radish)")
    run.add_argument("features", nargs="*", default=["features"], help="feature files or folders (default features)")
    run.add_argument(
        "-u",
        "--user-data",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. -u target.kind=kubeconfig (repeatable)",
    )
    run.add_argument("-t", "--tags", default=None, help="radish tag expression, e.g. 'smoke and not slow'")
    janitor = subparsers.add_parser("janitor", help="delete what one run left in the cluster, and nothing else")
    janitor.add_argument("--run-id", required=True, help="the run id printed at the start of the run")
    janitor.add_argument(
        "-u",
        "--user-data",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. -u target.context=staging (repeatable)",
    )


def _check_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lint = subparsers.add_parser(
        "lint", help="check, without a cluster, that every step resolves to one definition and every manifest parses"
    )
    lint.add_argument("features", nargs="*", type=Path, default=[Path("features")], help="feature files or folders")
    lint.add_argument("--steps", type=Path, default=STEPS, help="step definitions (default steps)")
    lint.add_argument("--manifests", type=Path, default=MANIFESTS, help="manifests (default manifests)")
    report = subparsers.add_parser(
        "report", help="render JUnit XML and the HTML page again from a Cucumber JSON report"
    )
    report.add_argument("cucumber", type=Path, help="the Cucumber JSON report, e.g. reports/cucumber.json")
    report.add_argument("--junit", type=Path, default=None, help="where to write JUnit XML (default: beside it)")
    report.add_argument("--html", type=Path, default=None, help="where to write the HTML page (default: beside it)")


def _lint(args: argparse.Namespace) -> int:
    findings = linting.lint(args.features, steps_dir=args.steps, manifests_dir=args.manifests)
    for problem in findings.problems:
        print(problem)
    summary = f"{findings.sentences} step sentences, {findings.manifests} manifests"
    print(f"{summary}: {len(findings.problems)} problem(s)" if findings.problems else f"{summary}: no problems")
    return 1 if findings.problems else 0


def _report(args: argparse.Namespace) -> int:
    try:
        run = reading.parse(args.cucumber.read_text(encoding="utf-8"))
    except OSError as error:
        print(f"kfval report: cannot read {args.cucumber}: {error.strerror or error}", file=sys.stderr)
        return 2
    except reading.ReportFormatError as error:
        print(f"kfval report: {args.cucumber} is not a Cucumber JSON report: {error}", file=sys.stderr)
        return 2
    redactor = redaction.Redactor()
    for path, text in (
        (args.junit or args.cucumber.with_name("junit.xml"), junit.render(run, redactor=redactor)),
        (args.html or args.cucumber.with_name("report.html"), html.render(run, redactor=redactor)),
    ):
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


def _run(args: argparse.Namespace) -> int:
    """Check the settings, the features and the tag expression without a cluster, then become radish (exec),
    so Ctrl-C and SIGTERM reach the run's own handlers, which clean up.

    A user's mistake (a setting, a Gherkin slip, a step no definition matches, a manifest that cannot be
    read, a tag expression) stops the run here with its place, before anything reaches the cluster.
    """
    config = settings.load(settings.RADISH_INI, environ=os.environ, overrides=settings.pairs(args.user_data))
    lifecycle.claim_reports(lifecycle.report_files(config.reports))  # released by the exec: radish claims them again
    features = [Path(path) for path in args.features]
    findings = linting.lint(features, steps_dir=STEPS, manifests_dir=MANIFESTS, tags=args.tags)
    if not findings.problems:
        _become_radish(args)
    for problem in findings.problems:
        print(f"kfval: {problem}", file=sys.stderr)
    print(
        f"kfval: {len(findings.problems)} problem(s) in the features: the run did not start, nothing reached "
        "the cluster (`kfval lint` checks them alone)",
        file=sys.stderr,
    )
    return 2


def _become_radish(args: argparse.Namespace) -> NoReturn:
    radish = Path(sys.executable).parent / "radish"
    argv = [str(radish), *args.features, "-b", str(STEPS)]
    for pair in args.user_data:
        argv += ["-u", pair]
    if args.tags:
        argv += ["--tags", args.tags]
    os.execv(argv[0], argv)


def _janitor(args: argparse.Namespace) -> int:
    config = settings.load(settings.RADISH_INI, environ=os.environ, overrides=settings.pairs(args.user_data))
    embedded = launch.find(config.target.state_dir) if config.target.kind == "local" else None
    if config.target.kind == "local" and embedded is None:
        print(f"kfval janitor: no embedded cluster runs from {config.target.state_dir}; it keeps nothing once stopped")
        return 0
    return janitoring.sweep(args.run_id, config, embedded_kubeconfig=embedded.kubeconfig if embedded else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kfval", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    _cluster_parser(subparsers)
    _run_parser(subparsers)
    _check_parsers(subparsers)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "janitor":
            return _janitor(args)
        if args.command == "lint":
            return _lint(args)
        if args.command == "report":
            return _report(args)
        return _cluster(args)
    except (launch.LaunchError, KfvalError) as error:
        print(f"kfval: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
