"""Reading a project image's Dockerfile for what it adds on top of the runtime.

There is no image builder on the embedded cluster's node: the host's root stands in for every
base image, so `FROM` and `RUN` cannot be honoured and are only recorded. What a container does
need is what the Dockerfile declares about its own files and configuration: `ARG`/`ENV`
substitution, `WORKDIR`, `COPY`/`ADD` of files from the image folder, `ENTRYPOINT` and `CMD`.
Parsing is pure (no filesystem); `resolving.py` turns the result into files to bind.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst")
URL_PATTERN = re.compile(r"^(https?|git|ssh)://|^git@")
VARIABLE_PATTERN = re.compile(r"\\\$|\$\{(\w+)(?::([-+])([^}]*))?\}|\$(\w+)")
RECORDED_ONLY = frozenset({"RUN", "SHELL", "HEALTHCHECK", "ONBUILD", "STOPSIGNAL", "VOLUME", "MAINTAINER"})


class DockerfileError(Exception):
    """The Dockerfile uses something the embedded node cannot stand in for, or is malformed."""


@dataclass(frozen=True)
class Copy:
    """A COPY/ADD: sources relative to the image folder, `destination` absolute in the image."""

    sources: tuple[str, ...]
    destination: str
    line: int
    from_stage: str | None = None
    """`--from`: the sources live in another stage or image, which the embedded node does not have."""

    @property
    def into_directory(self) -> bool:
        """Whether sources land inside `destination` (trailing slash or several sources)."""
        return self.destination.endswith("/") or len(self.sources) > 1


@dataclass(frozen=True)
class Dockerfile:
    """The final stage of a Dockerfile as the embedded node applies it."""

    base: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    copies: tuple[Copy, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    exposed: tuple[str, ...] = ()
    user: str | None = None
    notes: tuple[str, ...] = ()
    """What was recorded but not applied (RUN, USER, COPY flags...), with line numbers."""


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Instructions with continuations joined and comments dropped, each with its first line number."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        yield start, " ".join(part for part in pending if part)
        pending = []
    if pending:
        yield start, " ".join(part for part in pending if part)


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Expand $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alternative}; `\\$` stays a literal `$`."""

    def expand(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        name = match.group(1) or match.group(4)
        value = variables.get(name, "")
        if match.group(2) == "-":
            return value or match.group(3)
        if match.group(2) == "+":
            return match.group(3) if value else ""
        return value

    return VARIABLE_PATTERN.sub(expand, text)


def command_form(arguments: str) -> tuple[str, ...]:
    """ENTRYPOINT/CMD: the exec form (a JSON array) as is, the shell form run by /bin/sh -c."""
    if arguments.startswith("["):
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return tuple(parsed)
    return ("/bin/sh", "-c", arguments)


def words(text: str, variables: Mapping[str, str]) -> list[str]:
    """Split `text` into words as Docker does for ENV/LABEL/ARG: quotes, backslash escapes, $ expansion.

    Expansion happens while splitting, so an expanded value with spaces stays one word, and
    nothing expands inside single quotes or after a backslash.
    """
    result: list[str] = []
    current: list[str] | None = None
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace() and not quote:
            if current is not None:
                result.append("".join(current))
            current, index = None, index + 1
            continue
        current = [] if current is None else current
        if char in "'\"" and quote in ("", char):
            quote = "" if quote else char
        elif char == "\\" and quote != "'" and index + 1 < len(text):
            index += 1
            current.append(text[index])
        elif char == "$" and quote != "'" and (match := VARIABLE_PATTERN.match(text, index)):
            current.append(substitute(match.group(0), variables))
            index = match.end() - 1
        else:
            current.append(char)
        index += 1
    if current is not None:
        result.append("".join(current))
    return result


def pairs(arguments: str, variables: Mapping[str, str], *, line: int) -> dict[str, str]:
    """`KEY=value KEY2="v 2"` (or the legacy `KEY value`) as a mapping, with variables expanded."""
    key, _, rest = arguments.partition(" ")
    if "=" not in key:
        return {key: " ".join(words(rest, variables))}
    result = {}
    for word in words(arguments, variables):
        key, equals, value = word.partition("=")
        if not equals:
            raise DockerfileError(f"line {line}: expected KEY=value, got {word!r}")
        result[key] = value
    return result


class Stage:
    """The state of the stage being read; a new FROM starts a new one (the last stage is the image)."""

    def __init__(self, base: str, *, build_args: Mapping[str, str], global_args: Mapping[str, str], line: int) -> None:
        self.base = base
        self.build_args = build_args
        self.global_args = global_args
        self.args: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.workdir: str | None = None
        self.copies: list[Copy] = []
        self.entrypoint: tuple[str, ...] | None = None
        self.cmd: tuple[str, ...] | None = None
        self.labels: dict[str, str] = {}
        self.exposed: list[str] = []
        self.user: str | None = None
        self.notes: list[str] = [f"line {line}: FROM {base}: the host runtime stands in for the base image"]

    def variables(self) -> dict[str, str]:
        return {**self.args, **self.env}

    def apply(self, keyword: str, arguments: str, *, line: int) -> None:
        text = substitute(arguments, self.variables())
        if keyword == "ENV":
            self.env.update(pairs(arguments, self.variables(), line=line))
        elif keyword == "ARG":
            self.declare(arguments)
        elif keyword == "WORKDIR":
            self.workdir = posixpath.normpath(posixpath.join(self.workdir or "/", text))
        elif keyword in ("COPY", "ADD"):
            self.copies.append(
                copy_instruction(keyword, text, workdir=self.workdir or "/", line=line, notes=self.notes)
            )
        elif keyword == "ENTRYPOINT":
            self.entrypoint = command_form(arguments)
        elif keyword == "CMD":
            self.cmd = command_form(arguments)
        elif keyword == "LABEL":
            self.labels.update(pairs(arguments, self.variables(), line=line))
        elif keyword == "EXPOSE":
            self.exposed.extend(text.split())
        elif keyword == "USER":
            self.user = text
            self.notes.append(f"line {line}: USER {text} ignored: containers run as the cluster's user")
        elif keyword in RECORDED_ONLY:
            self.notes.append(f"line {line}: {keyword} ignored: the host runtime stands in for the base image")
        else:
            raise DockerfileError(f"line {line}: unknown instruction {keyword}")

    def declare(self, text: str) -> None:
        """ARG inside a stage: a build argument, else its own default, else the global ARG's value."""
        name, equals, default = text.partition("=")
        if name in self.build_args:
            self.args[name] = self.build_args[name]
        elif equals:
            self.args[name] = " ".join(words(default, self.variables()))
        else:
            self.args[name] = self.global_args.get(name, "")

    def result(self) -> Dockerfile:
        return Dockerfile(
            base=self.base,
            env=dict(self.env),
            workdir=self.workdir,
            copies=tuple(self.copies),
            entrypoint=self.entrypoint,
            cmd=self.cmd,
            labels=dict(self.labels),
            exposed=tuple(self.exposed),
            user=self.user,
            notes=tuple(self.notes),
        )


def copy_instruction(keyword: str, text: str, *, workdir: str, line: int, notes: list[str]) -> Copy:
    """A COPY/ADD with flags noted and dropped, refusing what ADD would fetch or unpack."""
    words = [str(word) for word in json.loads(text)] if text.startswith("[") else shlex.split(text)
    flags = [word for word in words if word.startswith("--")]
    paths = [word for word in words if not word.startswith("--")]
    from_stage = next((flag.partition("=")[2] for flag in flags if flag.startswith("--from=")), None)
    for flag in flags:
        notes.append(f"line {line}: {keyword} {flag} ignored")
    if len(paths) < 2:
        raise DockerfileError(f"line {line}: {keyword} needs at least one source and a destination")
    *sources, destination = paths
    for source in sources:
        if URL_PATTERN.match(source):
            raise DockerfileError(
                f"line {line}: ADD {source}: fetching URLs is not supported: "
                "download it into the image folder and COPY it"
            )
        if keyword == "ADD" and source.endswith(ARCHIVE_SUFFIXES):
            raise DockerfileError(
                f"line {line}: ADD {source}: unpacking archives is not supported: COPY the extracted files"
            )
    absolute = posixpath.normpath(posixpath.join(workdir, destination))
    directory = destination.endswith(("/", "/.")) or destination in (".", "..")
    trailing = "/" if directory and absolute != "/" else ""
    return Copy(tuple(sources), absolute + trailing, line, from_stage)


def parse(text: str, *, build_args: Mapping[str, str] | None = None) -> Dockerfile:
    """The final stage of the Dockerfile `text`; `build_args` override ARG defaults as --build-arg does."""
    global_args: dict[str, str] = dict(build_args or {})
    stage: Stage | None = None
    for line, instruction in logical_lines(text):
        keyword, _, arguments = instruction.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            base = substitute(arguments, global_args).split()[0] if arguments else ""
            stage = Stage(base, build_args=build_args or {}, global_args=global_args, line=line)
        elif stage is None and keyword == "ARG":
            name, equals, default = arguments.partition("=")
            global_args.setdefault(name, substitute(default, global_args) if equals else "")
        elif stage is None:
            raise DockerfileError(f"line {line}: {keyword} before FROM")
        else:
            stage.apply(keyword, arguments, line=line)
    if stage is None:
        raise DockerfileError("no FROM instruction")
    return stage.result()
