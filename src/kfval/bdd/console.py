"""The progress line of a radish run: how a wait shows on the console without breaking radish's lines.

radish writes a step's sentence when the step starts (ending the line) and, on a terminal, rewrites it
when the step ends by moving the cursor up one line (`\\r ESC[A ESC[K`). The cursor therefore sits
on an empty line under the running step while the step works: the live line is drawn there, in
place (`\\r ESC[K`), cut to the terminal's width so that it never wraps, and wiped as soon as the
wait ends, so radish finds the cursor where it left it. When the console is not a terminal (a CI
log) nothing can be rewritten: a plain, indented line is written once a wait has lasted 15 s, and
every 15 s after that. Both write through `sys.stdout` as it is at the time of writing (the
redacting stream of the run), never around it.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO

from kfval.kube import progress

LIVE_REDRAW_SECONDS = 1.0
"""The fastest a terminal line is redrawn: a burst of watch events must not read the logs each time."""
LIVE_INTERVAL_SECONDS = 2.0
"""How often a wait wakes to redraw the terminal line when nothing changes (its elapsed time ticks)."""
PLAIN_INTERVAL_SECONDS = 15.0
"""How often at most a plain line is written to a log; waits shorter than that write none."""
INDENT = "          "
"""Under the step's sentence, as radish indents a failure."""
ERASE_LINE = "\r\x1b[K"


def _stdout() -> TextIO:
    return sys.stdout


class LiveLine:
    """On a terminal: one line under the running step, rewritten in place and wiped when the wait ends."""

    interval_seconds: float | None = LIVE_INTERVAL_SECONDS

    def __init__(
        self,
        stream: Callable[[], TextIO] = _stdout,
        *,
        columns: Callable[[], int] = lambda: shutil.get_terminal_size().columns,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._columns = columns
        self._clock = clock
        self._drawn_at: float | None = None

    def due(self, elapsed_seconds: float) -> bool:
        return self._drawn_at is None or self._clock() - self._drawn_at >= LIVE_REDRAW_SECONDS

    def show(self, status: progress.Status) -> None:
        text = (INDENT + status.line())[: max(self._columns() - 1, 0)]
        stream = self._stream()
        stream.write(ERASE_LINE + text)
        stream.flush()
        self._drawn_at = self._clock()

    def finished(self) -> None:
        if self._drawn_at is None:
            return
        stream = self._stream()
        stream.write(ERASE_LINE)
        stream.flush()
        self._drawn_at = None


class PlainLines:
    """In a log: a whole line once a wait has lasted `PLAIN_INTERVAL_SECONDS`, and at most that often.

    radish draws with ANSI sequences whenever it is not told `--no-ansi`, even into a pipe (`| tee`), and
    then rewrites the step by moving up one line: with `blank_for_rewrite`, a wait that wrote lines ends
    with an empty one, which takes that rewrite, so neither the step's line nor the last progress line is
    overwritten on a terminal that shows the log.
    """

    interval_seconds: float | None = PLAIN_INTERVAL_SECONDS

    def __init__(
        self,
        stream: Callable[[], TextIO] = _stdout,
        *,
        clock: Callable[[], float] = time.monotonic,
        blank_for_rewrite: bool = False,
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._blank_for_rewrite = blank_for_rewrite
        self._written_at: float | None = None

    def due(self, elapsed_seconds: float) -> bool:
        if elapsed_seconds < PLAIN_INTERVAL_SECONDS:
            return False
        return self._written_at is None or self._clock() - self._written_at >= PLAIN_INTERVAL_SECONDS

    def show(self, status: progress.Status) -> None:
        stream = self._stream()
        stream.write(f"{INDENT}... {status.line()}\n")
        stream.flush()
        self._written_at = self._clock()

    def finished(self) -> None:
        if self._written_at is not None and self._blank_for_rewrite:
            stream = self._stream()
            stream.write("\n")
            stream.flush()
        self._written_at = None


def progress_sink(*, enabled: bool, ansi: bool, stream: TextIO | None = None) -> progress.Progress:
    """The run's progress sink: none when `console.progress` is off, a live line on a terminal that
    radish may draw on with ANSI sequences, plain lines otherwise (a log, or `--no-ansi`)."""
    if not enabled:
        return progress.SILENT
    if ansi and (stream or sys.stdout).isatty():
        return LiveLine()
    return PlainLines(blank_for_rewrite=ansi)
