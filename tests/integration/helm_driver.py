"""Runs one Helm action in its own process and prints the outcome as JSON.

Helm's Go runtime lives in a shared library: a panic there kills the whole process, so tests
drive it from a subprocess and read what it printed.

    python helm_driver.py KUBECONFIG NAMESPACE ACTION RELEASE [CHART] [VALUES_JSON]
"""

from __future__ import annotations

import json
import sys

import helm_python as helm


def main() -> None:
    kubeconfig, namespace, action, release = sys.argv[1:5]
    rest = sys.argv[5:]
    config = helm.Config(kubeconfig_path=kubeconfig, namespace=namespace)
    if action == "install":
        result = config.install(rest[0], release, json.loads(rest[1]), wait="watcher", timeout=90)
    elif action == "upgrade":
        result = config.upgrade(rest[0], release, json.loads(rest[1]), wait="watcher", timeout=90)
    elif action == "rollback":
        config.rollback(release, version=int(rest[0]), wait="watcher", timeout=90)
        result = config.status(release)
    elif action == "uninstall":
        result = config.uninstall(release, wait="watcher", timeout=90)
    elif action == "history":
        result = config.history(release)
    else:
        raise SystemExit(f"unknown action {action}")
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
