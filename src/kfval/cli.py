"""The `kfval` command: run the suite, check features without a cluster, re-render reports, manage
the embedded cluster, clean up after a run.

Subcommands arrive with the capabilities they serve: `run`, `lint`, `report`, `janitor`, `cluster`, `rbac`,
`preflight`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

import yaml

from kfval import janitoring, settings, target
from kfval.bdd import lifecycle, linting, selection
from kfval.embedded import launch
from kfval.kube import permissions
from kfval.kube.errors import KfvalError
from kfval.kubeflow import preflight
from kfval.report import history, html, junit, model, reading, redaction

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


def _user_data_argument(parser: argparse.ArgumentParser, *, example: str) -> None:
    """radish's `-u key=value`, which every command that reads the settings takes as `kfval run` does."""
    parser.add_argument(
        "-u",
        "--user-data",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a setting, e.g. {example} (repeatable)",
    )


def _run_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = subparsers.add_parser("run", help="run the features with radish (extra arguments go to radish)")
    run.add_argument("features", nargs="*", default=["features"], help="feature files or folders (default features)")
    _user_data_argument(run, example="-u target.kind=kubeconfig")
    run.add_argument("-t", "--tags", default=None, help="radish tag expression, e.g. 'smoke and not slow'")
    janitor = subparsers.add_parser("janitor", help="delete what one run left in the cluster, and nothing else")
    janitor.add_argument("--run-id", required=True, help="the run id printed at the start of the run")
    _user_data_argument(janitor, example="-u target.context=staging")


def _check_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lint = subparsers.add_parser(
        "lint", help="check, without a cluster, that every step resolves to one definition and every manifest parses"
    )
    lint.add_argument("features", nargs="*", type=Path, default=[Path("features")], help="feature files or folders")
    lint.add_argument("--steps", type=Path, default=STEPS, help="step definitions (default steps)")
    lint.add_argument("--manifests", type=Path, default=MANIFESTS, help="manifests (default manifests)")
    report = subparsers.add_parser(
        "report",
        help="render JUnit XML and the HTML page again from Cucumber JSON reports, merging several runs into one",
    )
    report.add_argument(
        "cucumber", type=Path, nargs="+", help="Cucumber JSON reports, e.g. reports/cucumber.json (one or more)"
    )
    report.add_argument("--junit", type=Path, default=None, help="where to write JUnit XML (default: beside the first)")
    report.add_argument(
        "--html", type=Path, default=None, help="where to write the HTML page (default: beside the first)"
    )
    report.add_argument(
        "--history",
        type=Path,
        default=None,
        help="run summaries for the trend (default: history/ beside the first report, when it exists)",
    )
    report.add_argument(
        "--runs", type=int, default=history.DEFAULT_RUNS, help=f"runs the trend shows (default {history.DEFAULT_RUNS})"
    )


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    """The features a command is about, chosen as `kfval run` chooses them."""
    parser.add_argument(
        "features", nargs="*", type=Path, default=[selection.FEATURES_DIR], help="feature files or folders"
    )
    parser.add_argument("-t", "--tags", default=None, help="radish tag expression, as `kfval run --tags` takes it")


def _rbac_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rbac = subparsers.add_parser(
        "rbac", help="print the ClusterRole the selected features need (from the permissions table)"
    )
    _selection_arguments(rbac)
    rbac.add_argument("--name", default="kfval", help="the ClusterRole's name (default kfval)")
    rbac.add_argument(
        "--bind",
        metavar="NAMESPACE/SERVICEACCOUNT",
        default=None,
        help="also print a ClusterRoleBinding of the role to this service account",
    )
    rbac.add_argument("--markdown", action="store_true", help="print the whole table as the README shows it instead")


def _preflight_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = subparsers.add_parser(
        "preflight", help="check the cluster has what the selected features need, and that the suite may use it"
    )
    _selection_arguments(check)
    _user_data_argument(check, example="-u target.kind=kubeconfig")


def _preflight(args: argparse.Namespace) -> int:
    config = settings.load(settings.RADISH_INI, environ=os.environ, overrides=settings.pairs(args.user_data))
    embedded = launch.find(config.target.state_dir) if config.target.kind == "local" else None
    if config.target.kind == "local" and embedded is None:
        print(f"kfval preflight: no embedded cluster runs from {config.target.state_dir}; start it: kfval cluster up")
        return 2
    features = selection.select(args.features, args.tags)
    conn = target.connect(
        config,
        cache_dir=target.CACHE_DIR / "preflight",
        embedded_kubeconfig=embedded.kubeconfig if embedded else None,
    )
    embedded_registry = embedded.registry.name if embedded is not None and embedded.registry is not None else ""
    try:
        report = preflight.check(
            conn,
            features,
            storage_class=config.notebooks.storage_class,
            registry=config.builder.registry or embedded_registry,
            images=config.images,
            tags=args.tags,
        )
    finally:
        conn.close()
    print(report.render())
    return 0 if report.ok else 1


def _rbac(args: argparse.Namespace) -> int:
    if args.markdown:
        print(permissions.markdown(), end="")
        return 0
    granted = permissions.grants(selection.select(args.features, args.tags))
    documents: list[object] = [permissions.cluster_role(granted, name=args.name)]
    if args.bind:
        namespace, slash, account = args.bind.partition("/")
        if not slash or not namespace or not account:
            print(f"kfval rbac: --bind {args.bind!r}: write NAMESPACE/SERVICEACCOUNT", file=sys.stderr)
            return 2
        documents.append(permissions.binding(args.name, namespace=namespace, service_account=account))
    print(yaml.safe_dump_all(documents, sort_keys=False), end="")
    return 0


def _lint(args: argparse.Namespace) -> int:
    findings = linting.lint(args.features, steps_dir=args.steps, manifests_dir=args.manifests)
    for problem in findings.problems:
        print(problem)
    summary = f"{findings.sentences} step sentences, {findings.manifests} manifests"
    print(f"{summary}: {len(findings.problems)} problem(s)" if findings.problems else f"{summary}: no problems")
    return 1 if findings.problems else 0


def _report(args: argparse.Namespace) -> int:
    runs = []
    for path in args.cucumber:
        try:
            runs.append(reading.parse(path.read_text(encoding="utf-8")))
        except OSError as error:
            print(f"kfval report: cannot read {path}: {error.strerror or error}", file=sys.stderr)
            return 2
        except reading.ReportFormatError as error:
            print(f"kfval report: {path} is not a Cucumber JSON report: {error}", file=sys.stderr)
            return 2
    run = model.merge(runs)
    first: Path = args.cucumber[0]
    try:
        earlier = history.load(args.history or first.with_name("history"))
    except history.HistoryError as error:
        print(f"kfval report: {error}", file=sys.stderr)
        return 2
    trend = history.latest(earlier, history.summarize(run), runs=args.runs) if earlier else []
    redactor = redaction.Redactor()
    for path, text in (
        (args.junit or first.with_name("junit.xml"), junit.render(run, redactor=redactor)),
        (args.html or first.with_name("report.html"), html.render(run, redactor=redactor, trend=trend)),
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
    _rbac_parser(subparsers)
    _preflight_parser(subparsers)
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
        if args.command == "rbac":
            return _rbac(args)
        if args.command == "preflight":
            return _preflight(args)
        return _cluster(args)
    except (launch.LaunchError, KfvalError) as error:
        print(f"kfval: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
