"""The cluster's registry seen from the host, through a real registry client (skopeo) and plain HTTP.

The embedded cluster records the registry's address and credentials in its ClusterInfo; tests use
them here as any tool on the host would, and never through the cluster's own code.
"""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.error
import urllib.request
from typing import Any

from kfval.embedded import launch

SKOPEO = "skopeo"


def skopeo(registry: launch.RegistryInfo, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    """`skopeo <args>` with the registry's credentials (or another password), over plain HTTP."""
    creds = f"{registry.username}:{registry.password if password is None else password}"
    argv = [SKOPEO, args[0], "--tls-verify=false", "--creds", creds, *args[1:]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def inspect(registry: launch.RegistryInfo, repository: str, *, config: bool = False, raw: bool = False) -> Any:
    """skopeo's view of `repository[:tag|@digest]` at the registry's host address."""
    flags = ["--config"] if config else ["--raw"] if raw else []
    done = skopeo(registry, "inspect", *flags, f"docker://{registry.address}/{repository}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def get(registry: launch.RegistryInfo, path: str, *, auth: tuple[str, str] | None) -> tuple[int, dict[str, str], bytes]:
    """A plain HTTP GET of the registry API: status, headers, body."""
    request = urllib.request.Request(f"http://{registry.address}{path}")
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    request.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def docker_config(registry: launch.RegistryInfo, *, password: str | None = None, plain: bool = False) -> str:
    """A docker config.json for the registry's cluster name (`auth`, or `username`/`password` when plain)."""
    secret = registry.password if password is None else password
    if plain:
        entry: dict[str, str] = {"username": registry.username, "password": secret}
    else:
        entry = {"auth": base64.b64encode(f"{registry.username}:{secret}".encode()).decode()}
    return json.dumps({"auths": {registry.name: entry}})
