"""A scenario's metrics (accuracy, cross entropy, step rates) with the threshold each must respect.

A metric travels inside the Cucumber JSON as an `application/json` embedding named `metric <name>`,
so a report re-rendered from that file alone (`kfval report`) still has its metrics table and trend.
The embedding is `{"name", "value", "threshold", "comparison"}`; reports written before thresholds
were recorded hold `{<name>: <value>}`, which still reads (without a threshold).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kfval.report import model, plots

EMBEDDING_PREFIX = "metric "
EMBEDDING_MIME_TYPE = "application/json"


@dataclass(frozen=True)
class Metric:
    """One measured figure; `comparison` is ">=" (at least) or "<" (below) the threshold."""

    name: str
    value: float
    threshold: float | None = None
    comparison: str | None = None

    @property
    def passed(self) -> bool | None:
        """Whether the value respects its threshold; None when there is no threshold to respect."""
        if self.threshold is None or self.comparison is None:
            return None
        return bool(plots.COMPARISONS[self.comparison](self.value, self.threshold))

    def embedding(self) -> model.Embedding:
        """The metric as the JSON embedding every report reads it back from."""
        document: dict[str, Any] = {"name": self.name, "value": self.value}
        if self.threshold is not None:
            document |= {"threshold": self.threshold, "comparison": self.comparison}
        return model.Embedding(EMBEDDING_MIME_TYPE, json.dumps(document).encode(), EMBEDDING_PREFIX + self.name)


def _read(document: dict[str, Any]) -> list[Metric]:
    if "name" in document and "value" in document:
        threshold = document.get("threshold")
        return [
            Metric(
                str(document["name"]),
                float(document["value"]),
                None if threshold is None else float(threshold),
                document.get("comparison"),
            )
        ]
    return [Metric(str(name), float(value)) for name, value in document.items()]


def of_scenario(scenario: model.Scenario) -> list[Metric]:
    """The metrics the scenario's steps and hooks recorded, in the order they were recorded."""
    found: list[Metric] = []
    for item in scenario.timeline:
        for embedding in item.embeddings:
            if (embedding.name or "").startswith(EMBEDDING_PREFIX) and embedding.mime_type == EMBEDDING_MIME_TYPE:
                found.extend(_read(json.loads(embedding.data)))
    return found
