"""The report's pictures as PNG bytes: loss curves per rank, a metric against its threshold, pod phases, trends.

matplotlib draws them with its Agg renderer through `Figure` objects alone (no pyplot): no display,
no global figure registry, so plots can be made from any thread of a run and never leak. Every
function takes plain numbers and labels that the caller has already redacted (a label is drawn into
pixels, where no redactor can reach it afterwards) and returns the encoded image, ready to embed in
the HTML page as a data URI and in Cucumber JSON as an `image/png` embedding.
"""

from __future__ import annotations

import io
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MIME_TYPE = "image/png"
DPI = 96
PHASE_COLOURS = {"Pending": "#e0a030", "Running": "#3070d0", "Succeeded": "#40a040", "Failed": "#d03030"}
PASS_COLOUR, FAIL_COLOUR, THRESHOLD_COLOUR = "#40a040", "#d03030", "#555555"
# how a metric's value is compared with its threshold, as steps state it
COMPARISONS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<": operator.lt}

Point = tuple[float, float]


def _figure(width: float, height: float) -> Figure:
    """A figure whose layout keeps titles, labels and legends inside it (matplotlib's constrained layout).
    matplotlib is imported here, at the first picture: `kfval run` and `kfval lint` never draw, and its
    import is a third of a second of their start."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - see above

    return Figure(figsize=(width, height), layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def loss_curves(series: Mapping[str, Sequence[Point]], *, title: str, xlabel: str = "epoch") -> bytes:
    """One line per rank (pod): training loss against progress through training."""
    figure = _figure(7, 3.6)
    axes = figure.add_subplot()
    for label, points in series.items():
        axes.plot([x for x, _ in points], [y for _, y in points], label=label, linewidth=1.2)
    axes.set(title=title, xlabel=xlabel, ylabel="training loss")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", fontsize="small")
    return _png(figure)


def against_threshold(name: str, points: Sequence[Point], *, threshold: float, comparison: str) -> bytes:
    """A metric per epoch (or its one final value) beside the dashed threshold line it must respect."""
    passes = COMPARISONS[comparison]
    figure = _figure(7, 3.2)
    axes = figure.add_subplot()
    xs, ys = [x for x, _ in points], [y for _, y in points]
    if len(points) > 1:
        axes.plot(xs, ys, color="#3070d0", linewidth=1.2, zorder=1)
    colours = [PASS_COLOUR if passes(y, threshold) else FAIL_COLOUR for y in ys]
    axes.scatter(xs, ys, c=colours, s=40, zorder=2, label=name)
    axes.axhline(threshold, color=THRESHOLD_COLOUR, linestyle="--", linewidth=1.2, label=f"threshold {threshold:g}")
    for x, y in points:
        axes.annotate(f"{y:.4g}", (x, y), textcoords="offset points", xytext=(6, 6), fontsize="small")
    spread = max(abs(threshold), *(abs(y) for y in ys)) * 0.05 or 1.0
    axes.set_ylim(min(threshold, *ys) - spread, max(threshold, *ys) + spread)
    axes.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    axes.set_xticks(sorted(set(xs)))
    axes.set(title=f"{name} ({comparison} {threshold:g} to pass)", xlabel="epoch", ylabel=name)
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    return _png(figure)


def phase_timeline(spans: Sequence[tuple[str, str, float, float]], *, title: str) -> bytes:
    """A Gantt chart of pod phases: (pod, phase, start, end) in seconds since the first pod was created."""
    pods = list(dict.fromkeys(pod for pod, _, _, _ in spans))
    figure = _figure(7, 1.3 + 0.35 * len(pods))
    axes = figure.add_subplot()
    for pod, phase, start, end in spans:
        row = len(pods) - 1 - pods.index(pod)
        axes.barh(row, max(end - start, 0.05), left=start, height=0.6, color=PHASE_COLOURS.get(phase, "#999999"))
    axes.set_yticks(range(len(pods)), list(reversed(pods)), fontsize="small")
    axes.set(title=title, xlabel="seconds since the first pod was created")
    from matplotlib.patches import Patch  # noqa: PLC0415 - imported with the first picture, as Figure is

    handles = [Patch(color=colour, label=phase) for phase, colour in PHASE_COLOURS.items()]
    figure.legend(handles=handles, loc="outside lower center", fontsize="x-small", ncols=len(handles))
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)


def trend(series: Mapping[str, Sequence[float | None]], *, runs: Sequence[str]) -> bytes:
    """Small multiples, one per metric, over the last runs (oldest left); a gap where a run lacks the metric."""
    figure = _figure(7, 1.5 * len(series) + 0.4)
    for index, (name, values) in enumerate(series.items(), start=1):
        axes = figure.add_subplot(len(series), 1, index)
        points = [(x, y) for x, y in enumerate(values) if y is not None]
        axes.plot([x for x, _ in points], [y for _, y in points], marker="o", markersize=3, linewidth=1.2)
        axes.set_title(name, fontsize="small", loc="left")
        axes.set_xlim(-0.5, len(runs) - 0.5)
        axes.set_xticks(range(len(runs)), runs if index == len(series) else [""] * len(runs), fontsize="x-small")
        axes.tick_params(axis="y", labelsize="x-small")
        axes.grid(alpha=0.3)
    return _png(figure)
