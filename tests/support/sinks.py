"""A progress sink for tests: it wants a status as often as it is told to, and keeps every one."""

from __future__ import annotations

from kfval.kube import progress


class RecordingSink:
    def __init__(self, *, interval_seconds: float | None = 1.0, wanted: bool = True) -> None:
        self.interval_seconds = interval_seconds
        self.wanted = wanted
        self.shown: list[progress.Status] = []
        self.finished_count = 0

    def due(self, elapsed_seconds: float) -> bool:
        return self.wanted

    def show(self, status: progress.Status) -> None:
        self.shown.append(status)

    def finished(self) -> None:
        self.finished_count += 1
