"""A run on a pseudo-terminal, and what a person would see on that terminal at the end.

radish and the progress line draw with a handful of sequences (carriage return, cursor up, erase to
the end of the line, colours); `screen` replays them on a grid of lines, so a test can compare what
stays on the screen rather than the bytes that drew it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

CSI = re.compile(r"\x1b\[(\d*)([A-Za-z])")
COLUMNS, ROWS = 250, 50


def run_on_pty(argv: list[str], *, timeout: float = 300) -> tuple[int, str]:
    """Run `argv` with a terminal as its stdout and stderr; return its exit code and everything it wrote."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child side of the terminal is closed
                break
            if not data:
                break
            chunks.append(data)
        returncode = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return returncode, b"".join(chunks).decode("utf-8", errors="replace")


def screen(output: str) -> list[str]:
    """The lines left on the terminal once `output` has been drawn (colours dropped, trailing blanks cut)."""
    lines: list[str] = [""]
    row = col = 0
    position = 0
    while position < len(output):
        char = output[position]
        match = CSI.match(output, position) if char == "\x1b" else None
        if match is not None:
            count, command = int(match.group(1) or 1), match.group(2)
            if command == "A":
                row = max(row - count, 0)
            elif command == "K":
                lines[row] = lines[row][:col]
            position = match.end()
            continue
        if char == "\r":
            col = 0
        elif char == "\n":
            row += 1
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + char + line[col + 1 :]
            col += 1
        position += 1
    return [line.rstrip() for line in lines]
