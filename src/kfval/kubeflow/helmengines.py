"""The two ways the suite runs Helm, each in a child process whose end it controls.

The `helm` CLI when it is on PATH (what a CI runner has), else helm-python-sdk in a child interpreter
(kfval.kubeflow.helmchild). Either answers with the same plain data: a release revision as the SDK
reports it (name, namespace, revision, status, chart_name, chart_version, app_version). A child that
outlives the action's timeout plus a grace is killed, a child that dies of a signal (a Go panic) is
reported as such, and the step fails with what the engine said last.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from kfval.kube import errors, progress

GRACE_SECONDS = 30.0
"""How long past Helm's own `--timeout` an engine may take (rendering, storage) before it is killed."""
LAST_WORDS_CHARACTERS = 2000
CHILD_MODULE = "kfval.kubeflow.helmchild"


@dataclass(frozen=True)
class HelmTarget:
    """Where Helm connects: the run's kubeconfig and context (both None: in-cluster or Helm's defaults)."""

    kubeconfig: Path | None = None
    context: str | None = None


@dataclass(frozen=True)
class Watch:
    """Who hears how a Helm action is getting on while Helm waits (the run's progress sink), and what the
    status line says of the release besides the time (its pods by phase), given the release's name."""

    sink: progress.Progress = progress.SILENT
    facts: Callable[[str], Sequence[str]] | None = None

    def status(self, action: str, release: str) -> Callable[[float], progress.Status]:
        add = self.facts

        def now(elapsed: float) -> progress.Status:
            facts = progress.gathered(lambda: add(release)) if add is not None else ()
            return progress.Status(f"helm {action} {release}", facts, elapsed)

        return now


class Engine(Protocol):
    """Runs one Helm action and answers with plain data (the child's JSON)."""

    name: str

    def run(self, request: Mapping[str, Any], *, timeout: float, watch: Watch | None = None) -> Any: ...


def _last_words(text: str) -> str:
    return text.strip()[-LAST_WORDS_CHARACTERS:] or "(nothing)"


def _finish(action: str, engine: str, completed: subprocess.CompletedProcess[str]) -> str:
    """The engine's output, or ReleaseError with what it said last (and how it died)."""
    if completed.returncode == 0:
        return completed.stdout
    if completed.returncode < 0:
        raise errors.ReleaseError(
            f"the Helm engine ({engine}) died with signal {-completed.returncode} during {action}; "
            f"its last words: {_last_words(completed.stderr)}"
        )
    said = completed.stdout.strip().splitlines()[-1:] or [""]
    try:
        message = str(json.loads(said[0])["error"])
    except (ValueError, KeyError, TypeError):
        message = _last_words(completed.stderr or completed.stdout)
    raise errors.ReleaseError(f"helm {action} failed: {message}")


def _run_child(
    argv: list[str],
    *,
    stdin: str,
    request: Mapping[str, Any],
    engine: str,
    timeout: float,
    grace: float = GRACE_SECONDS,
    watch: Watch | None = None,
) -> str:
    action, watch = request["action"], watch or Watch()
    try:
        completed = progress.run_process(
            argv,
            stdin=stdin,
            timeout=timeout + grace,
            sink=watch.sink,
            status=watch.status(action, str(request.get("release", ""))),
        )
    except subprocess.TimeoutExpired as expired:
        said = expired.stderr.decode() if isinstance(expired.stderr, bytes) else (expired.stderr or "")
        raise errors.ReleaseError(
            f"helm {action} did not finish within {timeout + grace:.0f} s ({timeout:.0f} s asked of Helm): "
            f"the {engine} engine was stopped; its last words: {_last_words(said)}"
        ) from expired
    return _finish(action, engine, completed)


class SdkEngine:
    """helm-python-sdk in a child interpreter (kfval.kubeflow.helmchild), one process per action."""

    name = "helm-python-sdk"

    def __init__(self, target: HelmTarget, *, grace_seconds: float = GRACE_SECONDS) -> None:
        self._target = target
        self._grace = grace_seconds

    def run(self, request: Mapping[str, Any], *, timeout: float, watch: Watch | None = None) -> Any:
        payload = {
            **request,
            "kubeconfig": str(self._target.kubeconfig) if self._target.kubeconfig else None,
            "context": self._target.context,
            "timeout": int(timeout),
        }
        argv = [sys.executable, "-m", CHILD_MODULE]
        output = _run_child(
            argv,
            stdin=json.dumps(payload),
            request=request,
            engine=self.name,
            timeout=timeout,
            grace=self._grace,
            watch=watch,
        )
        return json.loads(output.strip().splitlines()[-1])


class CliEngine:
    """The `helm` CLI, one process per action, answering in the SDK's shape."""

    name = "helm CLI"

    def __init__(self, executable: str, target: HelmTarget) -> None:
        self._executable = executable
        self._target = target

    def run(self, request: Mapping[str, Any], *, timeout: float, watch: Watch | None = None) -> Any:
        action = request["action"]
        values_file = write_values(request["values"]) if action in ("install", "upgrade") else None
        try:
            output = _run_child(
                self.argv(request, timeout=timeout, values_file=values_file),
                stdin="",
                request=request,
                engine=self.name,
                timeout=timeout,
                watch=watch,
            )
        finally:
            if values_file is not None:
                values_file.unlink(missing_ok=True)
        if action == "rollback":
            return self.run({**request, "action": "status"}, timeout=timeout, watch=watch)
        return _normalized(action, output)

    def argv(self, request: Mapping[str, Any], *, timeout: float, values_file: Path | None) -> list[str]:
        """The command line of one action (install and upgrade take their merged values from `values_file`)."""
        action, release = request["action"], request["release"]
        argv = [self._executable, *self._global_flags(request["namespace"])]
        if action in ("install", "upgrade"):
            argv += [action, release, request["chart"], "-f", str(values_file), "-o", "json"]
            argv += [flag for pair in request["set"] for flag in ("--set", pair)]
            argv += _wait_flags(request, timeout) + _labels(request)
            argv += ["--rollback-on-failure"] if request.get("rollback_on_failure") else []
        elif action == "rollback":
            argv += ["rollback", release, str(request["revision"]), *_wait_flags(request, timeout)]
        elif action == "uninstall":
            argv += ["uninstall", release, *_wait_flags(request, timeout)]
            argv += ["--ignore-not-found"] if request.get("missing_ok") else []
        elif action in ("status", "history"):
            argv += [action, release, "-o", "json"]
        elif action == "values":
            argv += ["get", "values", release, "-o", "json"]
        else:
            argv += ["get", "manifest", release]
        return argv

    def _global_flags(self, namespace: str) -> list[str]:
        flags = ["--namespace", namespace]
        if self._target.kubeconfig is not None:
            flags += ["--kubeconfig", str(self._target.kubeconfig)]
        if self._target.context:
            flags += ["--kube-context", self._target.context]
        return flags


def _wait_flags(request: Mapping[str, Any], timeout: float) -> list[str]:
    return ["--wait", "--timeout", f"{int(timeout)}s"] if request.get("wait") else ["--timeout", f"{int(timeout)}s"]


def _labels(request: Mapping[str, Any]) -> list[str]:
    labels = request.get("labels") or {}
    return ["--labels", ",".join(f"{k}={v}" for k, v in labels.items())] if labels else []


def _normalized(action: str, output: str) -> Any:
    """The CLI's JSON in the SDK's shape (`helm history` rows and `helm status` objects differ)."""
    if action == "manifest":
        return output
    if action == "uninstall":
        return None
    data = json.loads(output)
    if action == "values":
        return data
    if action == "history":
        return [_history_row(row) for row in data]
    chart = (data.get("chart") or {}).get("metadata") or {}
    return {
        "name": data.get("name"),
        "namespace": data.get("namespace"),
        "revision": data.get("version"),
        "status": (data.get("info") or {}).get("status"),
        "chart_name": chart.get("name", ""),
        "chart_version": chart.get("version", ""),
        "app_version": chart.get("appVersion", ""),
    }


def _history_row(row: Mapping[str, Any]) -> dict[str, Any]:
    name, _, version = str(row.get("chart", "")).rpartition("-")
    return {
        "revision": row.get("revision"),
        "status": row.get("status"),
        "chart_name": name,
        "chart_version": version,
        "app_version": row.get("app_version", ""),
    }


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of values: maps merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def select(target: HelmTarget) -> Engine:
    """The `helm` CLI when it is on PATH, else helm-python-sdk; SetupError when neither is here."""
    executable = shutil.which("helm")
    if executable is not None:
        return CliEngine(executable, target)
    if _sdk_present():
        return SdkEngine(target)
    raise errors.SetupError(
        "Helm scenarios need the `helm` CLI on PATH or helm-python-sdk (pip install 'kfval[local]')"
    )


def _sdk_present() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import helm_python"], capture_output=True, check=False, timeout=60)
    return probe.returncode == 0


def write_values(values: Mapping[str, Any]) -> Path:
    """A values file for the CLI (`-f`), in the system's temporary folder; the caller removes it."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8") as handle:
        yaml.safe_dump(dict(values), handle)
    return Path(handle.name)
