"""Kaniko's command line, read as spf13/pflag reads it.

Manifests pass flags every way pflag allows (`--context=dir://x`, `--context dir://x`, `-c x`,
`--no-push`, `--no-push=true`, repeated `--destination`), and a mistake must fail as Kaniko
fails: cobra's `Error: unknown flag: --foo` and exit 1. Every flag of the releases in use is
known; those this stand-in cannot act on (snapshot modes, platforms, mirrors, retries...) are
accepted and have no effect, which is what they amount to on one node with one registry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kfval.embedded.kaniko.releases import Release

STRING, BOOL, LIST, INT, DURATION = "string", "bool", "list", "int", "duration"
FLAGS: Mapping[str, str] = {
    "dockerfile": STRING, "context": STRING, "context-sub-path": STRING, "bucket": STRING,
    "destination": LIST, "snapshot-mode": STRING, "custom-platform": STRING, "build-arg": LIST,
    "insecure": BOOL, "skip-tls-verify": BOOL, "insecure-pull": BOOL, "skip-tls-verify-pull": BOOL,
    "push-retry": INT, "image-fs-extract-retry": INT, "kaniko-dir": STRING, "tar-path": STRING,
    "tarPath": STRING, "single-snapshot": BOOL, "reproducible": BOOL, "target": STRING, "no-push": BOOL,
    "no-push-cache": BOOL, "cache-repo": STRING, "cache-dir": STRING, "digest-file": STRING,
    "image-name-with-digest-file": STRING, "image-name-tag-with-digest-file": STRING,
    "oci-layout-path": STRING, "cache": BOOL, "compressed-caching": BOOL, "cleanup": BOOL,
    "cache-ttl": DURATION, "insecure-registry": LIST, "skip-tls-verify-registry": LIST,
    "registry-mirror": LIST, "registry-map": LIST, "registry-certificate": LIST, "ignore-var-run": BOOL,
    "whitelist-var-run": BOOL, "label": LIST, "skip-unused-stages": BOOL, "use-new-run": BOOL, "git": STRING,
    "cache-copy-layers": BOOL, "cache-run-layers": BOOL, "ignore-path": LIST, "force-build-metadata": BOOL,
    "skip-push-permission-check": BOOL, "push-ignore-immutable-tag-errors": BOOL, "compression": STRING,
    "compression-level": INT, "snapshotMode": STRING, "customPlatform": STRING,
    "verbosity": STRING, "log-format": STRING, "log-timestamp": BOOL, "force": BOOL,
}  # fmt: skip
SHORTHANDS = {"f": "dockerfile", "c": "context", "d": "destination", "b": "bucket", "v": "verbosity"}
DEFAULTS: Mapping[str, object] = {
    "dockerfile": "Dockerfile", "context": "/workspace/", "verbosity": "info", "log-format": "color",
    "cache-dir": "/cache", "compressed-caching": True, "cache-run-layers": True, "ignore-var-run": True,
    "kaniko-dir": "/kaniko",
}  # fmt: skip
DURATION_PATTERN = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
TRUE, FALSE = ("1", "t", "T", "TRUE", "true", "True"), ("0", "f", "F", "FALSE", "false", "False")


class FlagError(Exception):
    """A command line cobra refuses; `str()` is its message (printed as `Error: ...`)."""


@dataclass(frozen=True)
class Options:
    """The flags a build acts on (the rest are accepted and ignored)."""

    values: Mapping[str, object]
    warnings: tuple[str, ...] = field(default=())

    def text(self, name: str) -> str:
        return str(self.values.get(name, DEFAULTS.get(name, "")))

    def flag(self, name: str) -> bool:
        return bool(self.values.get(name, DEFAULTS.get(name, False)))

    def items(self, name: str) -> tuple[str, ...]:
        value = self.values.get(name, ())
        return tuple(value) if isinstance(value, list | tuple) else ()

    @property
    def destinations(self) -> tuple[str, ...]:
        return self.items("destination")

    @property
    def tar_path(self) -> str:
        return self.text("tar-path") or self.text("tarPath")


def known(release: Release) -> Mapping[str, str]:
    """The flags of `release`: `--tar-path` only from v1.9.1."""
    return {name: kind for name, kind in FLAGS.items() if name != "tar-path" or release.has_tar_path_flag}


def convert(name: str, kind: str, raw: str) -> object:
    if kind == BOOL:
        if raw not in TRUE + FALSE:
            raise FlagError(
                f'invalid argument "{raw}" for "--{name}" flag: strconv.ParseBool: parsing "{raw}": invalid syntax'
            )
        return raw in TRUE
    if kind == INT:
        if not re.fullmatch(r"[-+]?\d+", raw):
            raise FlagError(
                f'invalid argument "{raw}" for "--{name}" flag: strconv.ParseInt: parsing "{raw}": invalid syntax'
            )
        return int(raw)
    if kind == DURATION and not DURATION_PATTERN.match(raw):
        raise FlagError(f'invalid argument "{raw}" for "--{name}" flag: time: invalid duration "{raw}"')
    return raw


def split(argument: str) -> tuple[str, str | None, str]:
    """`--name=value` -> (name, value, shown); `-f` -> (dockerfile, None, shown); raises for unknown ones."""
    if argument.startswith("--"):
        name, equals, value = argument[2:].partition("=")
        return name, value if equals else None, f"--{name}"
    letter, rest = argument[1:2], argument[2:]
    if letter not in SHORTHANDS:
        raise FlagError(f"unknown shorthand flag: '{letter}' in {argument}")
    return SHORTHANDS[letter], rest.removeprefix("=") if rest else None, f"-{letter}"


def parse(argv: Sequence[str], release: Release) -> Options:
    """The flags of `argv` for `release`; FlagError with cobra's message when it refuses them."""
    flags = known(release)
    values: dict[str, object] = {}
    lists: dict[str, list[str]] = {}
    index = 0
    while index < len(argv):
        argument = argv[index]
        index += 1
        if argument == "--":
            break
        if not argument.startswith("-") or argument == "-":
            raise FlagError(f'unknown command "{argument}" for "executor"')
        name, value, shown = split(argument)
        kind = flags.get(name)
        if kind is None:
            raise FlagError(f"unknown flag: {shown}")
        if value is None and kind == BOOL:
            value = "true"
        elif value is None:
            if index >= len(argv):
                raise FlagError(f"flag needs an argument: {shown}")
            value, index = argv[index], index + 1
        if kind == LIST:
            lists.setdefault(name, []).append(value)
        else:
            values[name] = convert(name, kind, value)
    values.update(lists)
    return Options(values, tuple(deprecations(values, release)))


def deprecations(values: Mapping[str, object], release: Release) -> list[str]:
    """The warnings Kaniko logs for deprecated spellings (only once the new spelling exists)."""
    renamed = {"tarPath": "tar-path", "snapshotMode": "snapshot-mode", "customPlatform": "custom-platform"}
    if not release.has_tar_path_flag:
        return []
    return [f"Flag --{old} is deprecated. Use: --{new}" for old, new in renamed.items() if values.get(old)]
