"""Registry credentials where Kaniko finds them: a docker config.json.

Kaniko's image sets DOCKER_CONFIG=/kaniko/.docker/; go-containerregistry's default keychain reads
`$HOME/.docker/config.json` when it exists, else `$DOCKER_CONFIG/config.json`. Entries are keyed
`host:port` (also `https://host/v1/` and other URLs) and carry `auth` (base64 of user:password)
or `username` and `password`. buildah and skopeo ignore `username`/`password` entries, so the
executor hands them an authfile of its own with `auth` entries only.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCKER_HUB_KEYS = ("index.docker.io", "docker.io", "registry-1.docker.io")


class CredentialsError(Exception):
    """The docker config exists but cannot be read (a directory, not JSON)."""


@dataclass(frozen=True)
class Credential:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r})"

    @property
    def auth(self) -> str:
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def config_path(env: dict[str, str] | None = None) -> Path | None:
    environ = os.environ if env is None else env
    home = Path(environ.get("HOME", "/root")) / ".docker" / "config.json"
    if home.exists():
        return home
    directory = environ.get("DOCKER_CONFIG")
    return Path(directory) / "config.json" if directory else None


def host_of(key: str) -> str:
    host = key.split("://", 1)[-1].split("/", 1)[0].lower()
    return "index.docker.io" if host in DOCKER_HUB_KEYS else host


def entry_credential(entry: Any) -> Credential | None:
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


class Keychain:
    """Registry host -> credential, as read from the docker config (empty when there is none)."""

    def __init__(self, entries: dict[str, Credential]) -> None:
        self.entries = entries

    @classmethod
    def load(cls, path: Path | None) -> Keychain:
        if path is None or not path.exists():
            return cls({})
        try:
            document = json.loads(path.read_text())
        except IsADirectoryError as error:
            raise CredentialsError(f"read {path}: is a directory") from error
        except (OSError, ValueError) as error:
            raise CredentialsError(f"loading config file {path}: {error}") from error
        auths = document.get("auths") if isinstance(document, dict) else None
        found = {host_of(key): entry_credential(value) for key, value in (auths or {}).items()}
        return cls({host: credential for host, credential in found.items() if credential is not None})

    def resolve(self, registry: str) -> Credential | None:
        return self.entries.get(host_of(registry))

    def write_authfile(self, path: Path, registries: set[str]) -> Path:
        """An authfile for buildah and skopeo with an `auth` entry for each of `registries` we have."""
        auths = {host: {"auth": found.auth} for host in sorted(registries) if (found := self.resolve(host))}
        path.touch(mode=0o600)
        path.write_text(json.dumps({"auths": auths}))
        return path
