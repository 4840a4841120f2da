"""Which Kaniko release the executor behaves as, from its image tag.

Fairing pins `executor:v0.22.0`; manifests written today use v1.x or `latest`. The releases
differ in what a user can see: a failing RUN exits 1 before v1.7.0 and with the command's own
code from v1.7.0; `--tar-path` exists from v1.9.1 (before it only `--tarPath`, which later
releases keep as a deprecated alias); `Pushing image to`/`Pushed` are logged from v1.5.1;
`Building stage ...` and `Initializing snapshotter ...` belong to v1.x.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NEWEST = (1, 23, 2)
"""What `latest`, `debug` and unversioned tags stand for (the last release before the archive)."""
VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Release:
    version: tuple[int, int, int]

    @classmethod
    def from_tag(cls, tag: str) -> Release:
        """`v0.22.0`, `v1.9.0-debug`, `1.23.2`; anything else (latest, debug) is the newest."""
        match = VERSION.match(tag)
        if match is None:
            return cls(NEWEST)
        major, minor, patch = (int(part) for part in match.groups())
        return cls((major, minor, patch))

    @property
    def passes_run_exit_code(self) -> bool:
        return self.version >= (1, 7, 0)

    @property
    def has_tar_path_flag(self) -> bool:
        return self.version >= (1, 9, 1)

    @property
    def logs_push(self) -> bool:
        return self.version >= (1, 5, 1)

    @property
    def logs_stages(self) -> bool:
        return self.version >= (1, 0, 0)

    @property
    def text(self) -> str:
        return "v" + ".".join(str(part) for part in self.version)
