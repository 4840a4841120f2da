"""Kaniko's log lines as logrus writes them, to stderr.

The default format `color` is logrus' TextFormatter with colours forced and no full timestamp:
`\x1b[36mINFO\x1b[0m[0003] message`, the number being whole seconds since the executor started.
`text` gives `time="..." level=info msg="..."` and `json` one object per line. `--verbosity`
filters by logrus level; `--log-timestamp` puts the wall time into the colour format.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TextIO

from kfval.embedded.clock import SystemClock

LEVELS = ("panic", "fatal", "error", "warning", "info", "debug", "trace")
ALIASES = {"warn": "warning"}
COLOURS = {"panic": 31, "fatal": 31, "error": 31, "warning": 33, "info": 36, "debug": 37, "trace": 37}
FORMATS = ("color", "text", "json")


class LogConfigError(ValueError):
    """A log level or format Kaniko refuses (its words)."""


class Logger:
    """logrus, as configured by `--verbosity`, `--log-format` and `--log-timestamp`."""

    def __init__(self, level: str = "info", log_format: str = "color", *, timestamp: bool = False) -> None:
        name = ALIASES.get(level.lower(), level.lower())
        if name not in LEVELS:
            raise LogConfigError(f'parsing log level: not a valid logrus Level: "{level}"')
        if log_format not in FORMATS:
            raise LogConfigError(f"not a valid log format: {log_format!r}. Please specify one of (text, color, json)")
        self.threshold = LEVELS.index(name)
        self.log_format = log_format
        self.timestamp = timestamp
        self.clock = SystemClock()
        self.started = self.clock.monotonic()
        self.stream: TextIO = sys.stderr

    def enabled(self, level: str) -> bool:
        return LEVELS.index(level) <= self.threshold

    def log(self, level: str, message: str) -> None:
        if not self.enabled(level):
            return
        now = self.clock.now()
        if self.log_format == "json":
            record = {"level": level, "msg": message, "time": _rfc3339(now)}
            line = json.dumps(record)
        elif self.log_format == "text":
            line = f'time="{_rfc3339(now)}" level={level} msg={json.dumps(message)}'
        else:
            badge = level.upper()[:4]
            when = _rfc3339(now) if self.timestamp else f"{int(self.clock.monotonic() - self.started):04d}"
            line = f"\x1b[{COLOURS[level]}m{badge}\x1b[0m[{when}] {message}"
        print(line, file=self.stream, flush=True)

    def info(self, message: str) -> None:
        self.log("info", message)

    def warn(self, message: str) -> None:
        self.log("warning", message)

    def debug(self, message: str) -> None:
        self.log("debug", message)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
