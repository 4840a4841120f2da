"""The component dimensioning table (the seed validation's Fig. 10, made a check): per pod container,
its requests and limits beside the peak CPU and memory it used, flagged where usage exceeded the
request or stayed under a tenth of it.

A request far above use wastes the cluster (the scheduler reserves it); one below use lets the node
run out under load. The table travels inside the Cucumber JSON as an `application/json` embedding
named `dimensioning`, so a report re-rendered from that file alone still shows it, and each row
becomes JUnit properties. `problems` is what the step `the components stay within their resource
limits` judges: a container OOMKilled, or found at its CPU limit in more than the allowed share of
readings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any

from kfval.report import model

EMBEDDING_NAME = "dimensioning"
EMBEDDING_MIME_TYPE = "application/json"
UNDER_USE_SHARE = 0.1
"""Usage under this share of the request is flagged as over-dimensioned."""
RESOURCES = ("cpu", "memory")


@dataclass(frozen=True)
class Row:
    """One container's dimensioning: cores and bytes throughout."""

    pod: str
    container: str
    requests: Mapping[str, float] = field(default_factory=dict)
    limits: Mapping[str, float] = field(default_factory=dict)
    peak_cpu: float = 0.0
    peak_memory: float = 0.0
    cpu_seconds: float = 0.0
    readings: int = 0
    readings_at_cpu_limit: int = 0
    oom_killed: bool = False

    def peak(self, resource: str) -> float:
        return self.peak_cpu if resource == "cpu" else self.peak_memory

    def flags(self) -> list[str]:
        """`cpu over request`, `memory under 10% of request`, ...; none before any reading."""
        if self.readings == 0:
            return ["not measured"]
        found = []
        for resource in RESOURCES:
            request = self.requests.get(resource)
            if request is None or request <= 0:
                continue
            if self.peak(resource) > request:
                found.append(f"{resource} over request")
            elif self.peak(resource) < UNDER_USE_SHARE * request:
                found.append(f"{resource} under {UNDER_USE_SHARE:.0%} of request")
        if self.oom_killed:
            found.append("OOMKilled")
        return found

    @property
    def at_cpu_limit_share(self) -> float:
        return self.readings_at_cpu_limit / self.readings if self.readings else 0.0


def problems(rows: Iterable[Row], *, max_throttled_share: float) -> list[str]:
    """Why the components did not stay within their limits, one line per container; empty when they did."""
    found = []
    for row in rows:
        name = f"{row.pod}/{row.container}"
        if row.oom_killed:
            limit = row.limits.get("memory")
            found.append(f"{name} was OOMKilled (memory limit {_bytes(limit)}, peak seen {_bytes(row.peak_memory)})")
        if row.at_cpu_limit_share > max_throttled_share:
            found.append(
                f"{name} ran at its CPU limit ({_cores(row.limits.get('cpu'))}) in {row.at_cpu_limit_share:.0%} of "
                f"{row.readings} readings, more than the {max_throttled_share:.0%} allowed"
            )
    return found


def embedding(rows: Sequence[Row]) -> model.Embedding:
    return model.Embedding(EMBEDDING_MIME_TYPE, json.dumps([asdict(row) for row in rows]).encode(), EMBEDDING_NAME)


def of_scenario(scenario: model.Scenario) -> list[Row]:
    """The rows the scenario recorded (the latest table wins: it holds every reading)."""
    found: list[Row] = []
    for item in scenario.timeline:
        for attached in item.embeddings:
            if attached.name == EMBEDDING_NAME and attached.mime_type == EMBEDDING_MIME_TYPE:
                found = [_row(document) for document in json.loads(attached.data)]
    return found


def _row(document: Mapping[str, Any]) -> Row:
    return Row(**{key: value for key, value in document.items() if key in Row.__dataclass_fields__})


def properties(rows: Iterable[Row]) -> list[tuple[str, str]]:
    """JUnit properties: `dimensioning <pod>/<container> <figure>` = value (cores, bytes, seconds)."""
    found: list[tuple[str, str]] = []
    for row in rows:
        prefix = f"dimensioning {row.pod}/{row.container}"
        for kind, values in (("request", row.requests), ("limit", row.limits)):
            found.extend(
                (f"{prefix} {resource} {kind}", _plain(resource, values[resource])) for resource in sorted(values)
            )
        found += [
            (f"{prefix} peak cpu", f"{row.peak_cpu:.3f}"),
            (f"{prefix} peak memory", f"{row.peak_memory:.0f}"),
            (f"{prefix} cpu seconds", f"{row.cpu_seconds:.1f}"),
            (f"{prefix} flags", ", ".join(row.flags()) or "ok"),
        ]
    return found


def _plain(resource: str, value: float) -> str:
    """Cores to the millicore, bytes whole."""
    return f"{value:.3f}" if resource == "cpu" else f"{value:.0f}"


def _cores(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}m"


def _bytes(value: float | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f}Mi"


def _figures(row: Row) -> tuple[str, ...]:
    """CPU request, limit, peak, seconds; memory request, limit, peak: as the table shows them."""
    return (
        _cores(row.requests.get("cpu")),
        _cores(row.limits.get("cpu")),
        _cores(row.peak_cpu),
        f"{row.cpu_seconds:.1f}",
        _bytes(row.requests.get("memory")),
        _bytes(row.limits.get("memory")),
        _bytes(row.peak_memory),
    )


HEADER = ("pod/container", "CPU request", "CPU limit", "peak CPU", "CPU s", "memory request", "memory limit",
          "peak memory", "flags")  # fmt: skip


def text(rows: Sequence[Row]) -> str:
    """The table as aligned text, for the plain-text attachment a CI console shows."""
    lines = [HEADER] + [(f"{row.pod}/{row.container}", *_figures(row), ", ".join(row.flags()) or "ok") for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def html(rows: Sequence[Row]) -> str:
    """The table for the HTML page; a flagged row says why in its last cell."""
    if not rows:
        return ""
    body = []
    for row in rows:
        flags = row.flags()
        body.append(
            f"<tr><td>{escape(row.pod)}/{escape(row.container)}</td>"
            + "".join(f"<td>{figure}</td>" for figure in _figures(row))
            + f'<td class="{"fail" if flags else "pass"}">{escape(", ".join(flags) or "ok")}</td></tr>'
        )
    header = "".join(f"<th>{escape(name)}</th>" for name in HEADER)
    return f'<h3>Dimensioning</h3><table class="metrics"><tr>{header}</tr>{"".join(body)}</table>'
