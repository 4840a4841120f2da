"""Finds where things are written in a feature file when the BDD runner forgot.

Cucumber JSON reports tags with their lines, doc strings with the line of their delimiter and
outline rows under their Examples block's name; radish 0.18 keeps none of these (it even guesses tag
lines by counting backwards, wrongly when tags share a line). The feature file is the only truth,
so this module reads it again: plain text in, line numbers out, no runner types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kfval.report import model

_TAG = re.compile(r"@[^@]*")
DOC_STRING_DELIMITER = '"""'


@dataclass(frozen=True)
class ExamplesBlock:
    """The Examples line an outline row belongs to: its keyword, name and line."""

    keyword: str
    name: str
    line: int


class FeatureSource:
    """The lines of one feature file, asked about by 1-based line number."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines

    @classmethod
    def read(cls, path: str | Path) -> FeatureSource:
        """The file's lines; an unreadable file gives an empty source (every lookup then falls back)."""
        try:
            return cls(Path(path).read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError):
            return cls([])

    def _text(self, line: int) -> str:
        return self._lines[line - 1] if 0 < line <= len(self._lines) else ""

    def _is_filler(self, line: int) -> bool:
        stripped = self._text(line).strip()
        return not stripped or stripped.startswith("#")

    def tags_above(self, line: int) -> tuple[model.Tag, ...]:
        """The tags written on the tag lines right above `line` (comments and blank lines allowed between)."""
        found: list[tuple[model.Tag, ...]] = []
        current = line - 1
        while current > 0:
            text = self._text(current)
            if text.strip().startswith("@"):
                found.append(
                    tuple(model.Tag(match.group().strip(), current, match.start() + 1) for match in _TAG.finditer(text))
                )
            elif not self._is_filler(current):
                break
            current -= 1
        return tuple(tag for tags in reversed(found) for tag in tags)

    def doc_string_line(self, step_line: int) -> int | None:
        """The line of the opening delimiter of the doc string that follows the step on `step_line`."""
        current = step_line + 1
        while current <= len(self._lines):
            stripped = self._text(current).strip()
            if stripped.startswith(DOC_STRING_DELIMITER):
                return current
            if not (self._is_filler(current) or stripped.startswith("|")):
                return None
            current += 1
        return None

    def examples_above(self, row_line: int) -> ExamplesBlock | None:
        """The Examples line above an examples row (past the header row, other rows and comments)."""
        current = row_line - 1
        while current > 0:
            stripped = self._text(current).strip()
            if stripped.startswith("|") or self._is_filler(current):
                current -= 1
                continue
            keyword, colon, name = stripped.partition(":")
            return ExamplesBlock(keyword.strip(), name.strip(), current) if colon else None
        return None

    def row_cells(self, line: int) -> tuple[str, ...]:
        """The cells of the table row written on `line` (`| a | b |` -> ("a", "b")); () when there is none."""
        stripped = self._text(line).strip()
        if not stripped.startswith("|"):
            return ()
        return tuple(cell.strip() for cell in stripped.strip("|").split("|"))

    def examples_header(self, row_line: int) -> tuple[str, ...]:
        """The header row of the Examples table an outline row belongs to."""
        block = self.examples_above(row_line)
        if block is None:
            return ()
        current = block.line + 1
        while current < row_line and self._is_filler(current):
            current += 1
        return self.row_cells(current)
