"""Entries of a docker config.json, read as both the kubelet's keyring and Kaniko's keychain read them.

A kubelet pull secret (`.dockerconfigjson` or the older `.dockercfg`) and Kaniko's
`/kaniko/.docker/config.json` hold the same entries: keyed by registry (`host:port`, also URLs
such as `https://host/v1/`), each carrying `auth` (base64 of user:password, which wins) or
`username` and `password`. buildah and skopeo read `auth` entries only, so both sides hand them an
authfile of their own written here.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Credential:
    """A user and password for one registry; its repr leaves the password out, since reprs reach logs."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r})"

    @property
    def auth(self) -> str:
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def registry_host(key: str) -> str:
    """`https://host:5000/v1/` -> `host:5000`: the part of a config key that names the registry."""
    return key.split("://", 1)[-1].split("/", 1)[0].lower()


def entry_credential(entry: Any) -> Credential | None:
    """The credential of one entry; None when it has neither a readable `auth` nor a `username`."""
    if not isinstance(entry, dict):
        return None
    if entry.get("auth"):
        try:
            user, _, password = base64.b64decode(str(entry["auth"])).decode().partition(":")
        except (ValueError, binascii.Error):
            return None
        return Credential(user, password)
    if entry.get("username"):
        return Credential(str(entry["username"]), str(entry.get("password", "")))
    return None


def write_authfile(path: Path, credentials: Mapping[str, Credential]) -> Path:
    """An authfile (mode 0600 before anything is written) with an `auth` entry per registry host."""
    path.touch(mode=0o600)
    path.write_text(json.dumps({"auths": {host: {"auth": found.auth} for host, found in sorted(credentials.items())}}))
    return path
