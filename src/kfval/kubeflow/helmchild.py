"""One Helm action through helm-python-sdk, in a process of its own: `python -m kfval.kubeflow.helmchild`.

Helm's Go runtime runs inside the interpreter that loads the SDK: a Go panic kills that interpreter,
and a wait cannot be interrupted from Python. So the suite never loads the SDK itself: it starts this
module with the request as JSON on stdin, reads one JSON line back (the release in the SDK's own
shape, or {"error": ...} with exit code 3), and kills the process if it outlives the action.
`--set` pairs are parsed by Helm's own parser (strvals) and merged over the values, as `helm` does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import helm_python

from kfval.kubeflow.helmengines import merge

HIDDEN = ("manifest", "labels")
"""Fields of the SDK's release left out of answers: the manifest is asked for on its own, labels are Helm's storage."""


def _values(request: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(request.get("values") or {})
    for pair in request.get("set") or []:
        values = merge(values, helm_python.parse_set_string(pair))
    return values


def _release(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in HIDDEN}


def run(request: Mapping[str, Any]) -> Any:
    config = helm_python.Config(
        kubeconfig_path=request.get("kubeconfig"), kube_context=request.get("context"), namespace=request["namespace"]
    )
    action, release, timeout = request["action"], request["release"], int(request["timeout"])
    wait = "watcher" if request.get("wait") else None
    if action in ("install", "upgrade"):
        act = config.install if action == "install" else config.upgrade
        return _release(
            act(
                request["chart"],
                release,
                _values(request),
                timeout=timeout,
                wait=wait,
                rollback_on_failure=bool(request.get("rollback_on_failure")),
                labels=dict(request.get("labels") or {}),
            )
        )
    if action == "rollback":
        config.rollback(release, version=int(request["revision"]), wait=wait, timeout=timeout)
        return _release(config.status(release))
    if action == "uninstall":
        config.uninstall(release, wait=wait, timeout=timeout, ignore_not_found=bool(request.get("missing_ok")))
        return None
    if action == "status":
        return _release(config.status(release))
    if action == "history":
        return [_release(item) for item in config.history(release)]
    if action == "values":
        return config.get_values(release)
    return config.status(release)["manifest"]


def main() -> int:
    request = json.load(sys.stdin)
    try:
        answer = run(request)
    except helm_python.HelmError as error:
        print(json.dumps({"error": str(error).strip()}))
        return 3
    print(json.dumps(answer, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
