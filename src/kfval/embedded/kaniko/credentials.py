"""Registry credentials where Kaniko finds them: a docker config.json.

Kaniko's image sets DOCKER_CONFIG=/kaniko/.docker/; go-containerregistry's default keychain reads
`$HOME/.docker/config.json` when it exists, else `$DOCKER_CONFIG/config.json`. Entries are keyed
`host:port` (also `https://host/v1/` and other URLs) and carry `auth` (base64 of user:password)
or `username` and `password`. buildah and skopeo ignore `username`/`password` entries, so the
executor hands them an authfile of its own with `auth` entries only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kfval.embedded.dockerconfig import Credential, entry_credential, registry_host, write_authfile

DOCKER_HUB_KEYS = ("index.docker.io", "docker.io", "registry-1.docker.io")


class CredentialsError(Exception):
    """The docker config exists but cannot be read (a directory, not JSON)."""


def config_path(env: dict[str, str] | None = None) -> Path | None:
    environ = os.environ if env is None else env
    home = Path(environ.get("HOME", "/root")) / ".docker" / "config.json"
    if home.exists():
        return home
    directory = environ.get("DOCKER_CONFIG")
    return Path(directory) / "config.json" if directory else None


def host_of(key: str) -> str:
    host = registry_host(key)
    return "index.docker.io" if host in DOCKER_HUB_KEYS else host


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
        return write_authfile(path, {host: found for host in registries if (found := self.resolve(host))})
