"""Turn the YAML a step names into objects the suite can apply, failing early with a file and a line.

A manifest is shared by every target, so what differs between clusters (images, names, sizes) is a
`${variable}` filled in before the YAML is parsed: `replicas: ${workers}` becomes a number, as if it
had been written so. `$${variable}` keeps the text `${variable}` (for shell commands in containers).
Every problem is reported where the author can fix it: all undefined variables at once, each with
its line; YAML syntax errors with theirs; documents that cannot name an object with the line where
they start. Documents are split on the original text, so a line always points into the file as
written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from kfval.kube.client import Body
from kfval.kube.errors import ManifestError

_VARIABLE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_SEPARATOR = re.compile(r"^---(?:[ \t]|$)")
_DEFINE_HINT = "define it in the step or in radish.ini [variables]"


@dataclass(frozen=True)
class Document:
    """One object of a manifest, with the place it was written (`line` counts from 1)."""

    body: Body
    source: str
    line: int

    @property
    def where(self) -> str:
        """`manifests/pytorchjob.yaml:12`, as every message about this document starts."""
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class _Chunk:
    """The text of one YAML document as written, and the 0-based line of the file it starts on."""

    text: str
    first_line: int


@dataclass(frozen=True)
class _Undefined:
    line: int
    name: str


def load(path: Path, variables: Mapping[str, str]) -> list[Document]:
    """The objects of a manifest file, rendered with `variables`; empty documents are skipped, but a file
    without any object is refused."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(f"{source}: cannot read the manifest: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ManifestError(f"{source}: the manifest is not UTF-8 text: {error}") from error
    return render_text(text, variables, source=source)


def render_text(text: str, variables: Mapping[str, str], *, source: str) -> list[Document]:
    """The objects of an in-memory manifest (a step's doc string); `source` names it in messages.

    A manifest without a single object is an error, as `kubectl apply` says "no objects passed to
    apply": a step that applies it would otherwise pass having done nothing.
    """
    chunks = list(_split(text))
    undefined = [item for chunk in chunks for item in _undefined(chunk, variables)]
    if undefined:
        raise ManifestError(_undefined_message(undefined, variables, source=source))
    documents: list[Document] = []
    for chunk in chunks:
        document = _parse(chunk, render(chunk.text, variables), source=source)
        if document is not None:
            documents.append(document)
    if not documents:
        state = "is empty" if not text.strip() else "holds only empty documents and comments"
        raise ManifestError(
            f"{source}: no objects passed to apply: the manifest {state}; "
            "write at least one object with apiVersion, kind and metadata.name"
        )
    return documents


def render(text: str, variables: Mapping[str, str]) -> str:
    """`text` with every `${name}` replaced and every `$${` turned into `${`; unknown names stay as written."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "${"
        return variables.get(name, match.group(0))

    return _VARIABLE.sub(replace, text)


def _split(text: str) -> Iterator[_Chunk]:
    """Cut the text before each `---` line; each piece keeps its separator, so it parses alone."""
    lines = text.splitlines(keepends=True)
    start = 0
    for number, line in enumerate(lines):
        if number > start and _SEPARATOR.match(line):
            yield _Chunk("".join(lines[start:number]), start)
            start = number
    yield _Chunk("".join(lines[start:]), start)


def _undefined(chunk: _Chunk, variables: Mapping[str, str]) -> Iterator[_Undefined]:
    for offset, line in enumerate(chunk.text.splitlines()):
        for match in _VARIABLE.finditer(line):
            name = match.group(1)
            if name is not None and name not in variables:
                yield _Undefined(chunk.first_line + offset + 1, name)


def _undefined_message(undefined: list[_Undefined], variables: Mapping[str, str], *, source: str) -> str:
    known = f"known: {', '.join(sorted(variables))}" if variables else "no variables are defined"
    lines = dict.fromkeys(
        f"{source}:{item.line}: variable ${{{item.name}}} is not defined ({known}); {_DEFINE_HINT}"
        for item in undefined
    )
    return "\n".join(lines)


def _parse(chunk: _Chunk, rendered: str, *, source: str) -> Document | None:
    """The chunk's object, or None when the document holds nothing but comments."""
    loader = yaml.SafeLoader(rendered)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        body = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, chunk, rendered, source=source) from error
    except yaml.YAMLError as error:
        raise ManifestError(f"{source}:{chunk.first_line + 1}: the YAML cannot be parsed: {error}") from error
    finally:
        loader.dispose()
    line = chunk.first_line + node.start_mark.line + 1
    if body is None:
        return None
    return Document(_object(body, where=f"{source}:{line}"), source, line)


def _syntax_error(error: yaml.MarkedYAMLError, chunk: _Chunk, rendered: str, *, source: str) -> ManifestError:
    """Point at the problem's line; at the end of the text, point where the unfinished construct began."""
    last = max(rendered.count("\n") - (1 if rendered.endswith("\n") else 0), 0)
    mark = error.problem_mark
    if mark is None or (mark.line > last and error.context_mark is not None):
        mark = error.context_mark
    line = chunk.first_line + 1 + (min(mark.line, last) if mark is not None else 0)
    problem = error.problem or "invalid YAML"
    if error.context and error.context_mark is not None:
        problem += f" ({error.context} started on line {chunk.first_line + error.context_mark.line + 1})"
    return ManifestError(f"{source}:{line}: the YAML cannot be parsed: {problem}")


def _object(body: object, *, where: str) -> Body:
    """The body when it names an object; otherwise a ManifestError saying which field is missing."""
    if not isinstance(body, dict):
        raise ManifestError(
            f"{where}: the document is a {type(body).__name__}, not an object; "
            "each document needs apiVersion, kind and metadata.name"
        )
    metadata = body.get("metadata")
    name = metadata.get("name") or metadata.get("generateName") if isinstance(metadata, dict) else None
    fields = {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"), "metadata.name": name}
    missing = [field for field, value in fields.items() if not isinstance(value, str) or not value]
    if missing:
        raise ManifestError(
            f"{where}: the document has no {' and no '.join(missing)}; "
            "each document needs apiVersion, kind and metadata.name (or metadata.generateName)"
        )
    return {str(key): value for key, value in body.items()}
