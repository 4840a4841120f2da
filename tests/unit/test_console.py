"""The progress line on the console: in place on a terminal, wiped before radish writes again, and a
plain line at most every 15 s in a log."""

from __future__ import annotations

import io

from kfval.bdd import console
from kfval.kube import progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


STATUS = progress.Status("mnist", ("2/2 pods Running", "epoch 1", "63%", "loss 0.21"), 14.0)


def test_the_live_line_is_drawn_in_place_cut_to_the_width_and_wiped_when_the_wait_ends() -> None:
    stream, clock = io.StringIO(), Clock()
    line = console.LiveLine(lambda: stream, columns=lambda: 40, clock=clock)
    assert line.due(0.0)
    line.show(STATUS)
    assert stream.getvalue() == "\r\x1b[K" + ("          " + STATUS.line())[:39]
    line.finished()
    assert stream.getvalue().endswith("\r\x1b[K")
    assert "\n" not in stream.getvalue()


def test_the_live_line_is_redrawn_at_most_once_a_second() -> None:
    stream, clock = io.StringIO(), Clock()
    line = console.LiveLine(lambda: stream, columns=lambda: 200, clock=clock)
    line.show(STATUS)
    clock.now += 0.5
    assert not line.due(0.5)
    clock.now += 0.5
    assert line.due(1.0)


def test_a_live_line_that_was_never_drawn_is_not_wiped() -> None:
    stream = io.StringIO()
    console.LiveLine(lambda: stream, columns=lambda: 200).finished()
    assert stream.getvalue() == ""


def test_plain_lines_start_after_15_s_and_come_at_most_every_15_s() -> None:
    stream, clock = io.StringIO(), Clock()
    lines = console.PlainLines(lambda: stream, clock=clock)
    assert not lines.due(14.9)
    assert lines.due(15.0)
    lines.show(STATUS)
    clock.now += 10
    assert not lines.due(25.0)
    clock.now += 5
    assert lines.due(30.0)
    assert stream.getvalue() == f"          ... {STATUS.line()}\n"
    lines.finished()
    assert not lines.due(3.0)


def test_the_sink_follows_the_setting_the_terminal_and_radish_ansi() -> None:
    assert console.progress_sink(enabled=False, ansi=True, stream=Terminal()) is progress.SILENT
    assert isinstance(console.progress_sink(enabled=True, ansi=True, stream=Terminal()), console.LiveLine)
    assert isinstance(console.progress_sink(enabled=True, ansi=False, stream=Terminal()), console.PlainLines)
    assert isinstance(console.progress_sink(enabled=True, ansi=True, stream=io.StringIO()), console.PlainLines)


def test_in_a_pipe_radish_draws_on_with_ansi_a_blank_line_takes_its_rewrite() -> None:
    stream, clock = io.StringIO(), Clock()
    lines = console.PlainLines(lambda: stream, clock=clock, blank_for_rewrite=True)
    lines.finished()
    assert stream.getvalue() == ""
    lines.show(STATUS)
    lines.finished()
    assert stream.getvalue() == f"          ... {STATUS.line()}\n\n"
    sink = console.progress_sink(enabled=True, ansi=True, stream=io.StringIO())
    assert isinstance(sink, console.PlainLines) and sink._blank_for_rewrite
