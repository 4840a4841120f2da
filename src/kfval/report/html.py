"""Renders a run as one self-contained HTML page that a QA engineer can open without a CI server.

No scripts, no external styles or images: plots are inlined as data URIs, logs fold away in
`<details>`, so the page can be mailed or attached to a ticket and read offline. What it shows, top
down: totals and a pass/fail bar, the trend over the last runs (when `reports/history/` has some),
then per feature and scenario the metrics table (value, threshold, pass or fail), the plots the
steps attached (loss per rank, metrics against their thresholds, pod phases), and every step with
its status, duration, error and evidence. Failed scenarios, and the short evidence of failed steps,
are open. Every piece of run text is escaped (the common Cucumber HTML reporters interpolate pod logs
unescaped, see reference/report-formats.md §3.2 item 12) and redacted.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from kfval.report import dimensioning, history, measures, model, plots
from kfval.report.redaction import Redactor

IMAGE_MIME_TYPES = ("image/png", "image/gif", "image/jpeg", "image/svg+xml")
# a trend needs at least two runs to show a direction; more metrics than this would make a poster
TREND_MIN_RUNS = 2
TREND_MAX_SERIES = 12
# the evidence of a failed step is shown open when it is short (an explanation, events) or is the evidence the
# terrain collects on failure (steps/terrain.py names it so); a whole pod log stays folded
OPEN_EVIDENCE_MAX_LINES = 40
FAILURE_EVIDENCE = "evidence"
_BAD = (model.Status.FAILED, model.Status.UNDEFINED)

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 80em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 2em; } h3 { font-size: 1em; margin: 0.8em 0 0.3em; }
.bar { display: flex; height: 1.4em; border-radius: 3px; overflow: hidden; margin: 0.5em 0; }
.bar span { color: #fff; font-size: 0.8em; line-height: 1.75em; padding-left: 0.4em; white-space: nowrap; }
.bar .passed { background: #2a2; } .bar .failed, .bar .undefined { background: #c22; }
.bar .skipped, .bar .pending { background: #ca2; }
details.scenario { margin: 0.5em 0; border-left: 4px solid #ccc; padding-left: 0.6em; }
details.scenario.passed { border-color: #2a2; }
details.scenario.failed, details.scenario.undefined { border-color: #c22; }
details.scenario.skipped, details.scenario.pending { border-color: #ca2; }
summary { cursor: pointer; }
.status { font-weight: bold; text-transform: uppercase; font-size: 0.75em; display: inline-block; min-width: 6em; }
.passed > .status, span.status.passed { color: #181; } .failed > .status, span.status.failed { color: #b11; }
.skipped > .status, .pending > .status, .undefined > .status { color: #a80; }
ol.steps { list-style: none; padding-left: 0; } ol.steps li { margin: 0.25em 0; }
.duration { color: #666; font-size: 0.85em; }
pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; white-space: pre-wrap; margin: 0.3em 0; }
pre.error { background: #fdecec; }
figure { display: inline-block; margin: 0.3em 1em 0.3em 0; } figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; display: block; }
td, th { border: 1px solid #ccc; padding: 0.1em 0.5em; text-align: left; } table { border-collapse: collapse; }
td.pass { color: #181; font-weight: bold; } td.fail { color: #b11; font-weight: bold; }
"""


def render(
    run: model.Run,
    *,
    redactor: Redactor,
    title: str = "kfval report",
    trend: Sequence[history.Summary] = (),
) -> str:
    """The whole page; secrets masked and all text escaped. `trend`: earlier runs' summaries, oldest first."""
    scenarios = [scenario for feature in run.features for scenario in feature.scenarios]
    body = "".join(_feature(feature, redactor) for feature in run.features)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"{_totals(run, scenarios)}{_trend(trend, redactor)}{body}</body></html>\n"
    )


def _text(text: str, redactor: Redactor) -> str:
    return escape(redactor.redact(text))


def _counts(scenarios: Sequence[model.Scenario]) -> dict[model.Status, int]:
    counts = dict.fromkeys(model.Status, 0)
    for scenario in scenarios:
        counts[scenario.status] += 1
    return {status: count for status, count in counts.items() if count}


def _summary_line(counts: dict[model.Status, int]) -> str:
    return ", ".join(f"{count} {status}" for status, count in counts.items()) or "no scenario ran"


def _seconds(duration_ns: int) -> str:
    return f"{duration_ns / model.NANOSECONDS_PER_SECOND:.1f} s"


def _totals(run: model.Run, scenarios: Sequence[model.Scenario]) -> str:
    counts = _counts(scenarios)
    total = sum(counts.values())
    bar = "".join(
        f'<span class="{status}" style="width:{100 * count / total:.2f}%" title="{count} {status}">{count} {status}'
        "</span>"
        for status, count in counts.items()
    )
    started = f"started {run.started_at:%Y-%m-%d %H:%M:%S %Z}, " if run.started_at else ""
    duration = _seconds(sum(scenario.duration_ns for scenario in scenarios))
    return (
        f'<p class="totals">{_summary_line(counts)}</p>'
        f'<div class="bar" role="img" aria-label="{_summary_line(counts)}">{bar}</div>'
        f"<p>{started}{len(run.features)} feature(s), {total} scenario(s), {duration} in steps and hooks</p>"
    )


def _trend(summaries: Sequence[history.Summary], redactor: Redactor) -> str:
    if len(summaries) < TREND_MIN_RUNS:
        return ""
    series = dict(list(history.series(list(summaries)).items())[:TREND_MAX_SERIES])
    labels = [summary.started_at[5:16].replace("T", " ") for summary in summaries]
    image = plots.trend({redactor.redact(name): values for name, values in series.items()}, runs=labels)
    return f"<h2>Trend over the last {len(summaries)} runs</h2>" + _figure(
        plots.MIME_TYPE, image, "suite duration and metrics per run, oldest left"
    )


def _feature(feature: model.Feature, redactor: Redactor) -> str:
    scenarios = "".join(_scenario(scenario, redactor) for scenario in feature.scenarios)
    return (
        f"<section><h2>{_text(feature.keyword, redactor)}: {_text(feature.name, redactor)}</h2>"
        f"<p><small>{_text(feature.uri, redactor)}</small> · {_summary_line(_counts(feature.scenarios))}</p>"
        f"{scenarios}</section>"
    )


def _scenario(scenario: model.Scenario, redactor: Redactor) -> str:
    status = str(scenario.status)
    tags = " ".join(tag.name for tag in scenario.tags)
    example = ""
    if scenario.example is not None:
        cells = ", ".join(f"{k}={v}" for k, v in zip(scenario.example.header, scenario.example.values, strict=False))
        example = f" <small>[{_text(cells, redactor)}]</small>"
    images = [e for item in scenario.timeline for e in item.embeddings if e.mime_type in IMAGE_MIME_TYPES]
    plots_html = "".join(_figure(e.mime_type, e.data, _text(e.name or e.mime_type, redactor)) for e in images)
    steps = "".join(_item(item, redactor) for item in scenario.timeline)
    return (
        f'<details class="scenario {status}"{" open" if scenario.status in _BAD else ""}><summary>'
        f'<span class="status">{status}</span> {_text(scenario.name, redactor)}{example} '
        f'<span class="duration">({_seconds(scenario.duration_ns)})</span> <small>{_text(tags, redactor)}</small>'
        f"</summary>{_metrics(scenario)}{dimensioning.html(dimensioning.of_scenario(scenario))}"
        f"{'<h3>Plots</h3>' + plots_html if plots_html else ''}"
        f'<h3>Steps</h3><ol class="steps">{steps}</ol></details>'
    )


def _metrics(scenario: model.Scenario) -> str:
    metrics = measures.of_scenario(scenario)
    if not metrics:
        return ""
    rows = []
    for metric in metrics:
        threshold = "" if metric.threshold is None else f"{metric.comparison} {metric.threshold:g}"
        verdict = {True: ("pass", "pass"), False: ("fail", "fail"), None: ("", "")}[metric.passed]
        rows.append(
            f"<tr><td>{escape(metric.name)}</td><td>{metric.value:.4f}</td><td>{escape(threshold)}</td>"
            f'<td class="{verdict[0]}">{verdict[1]}</td></tr>'
        )
    return (
        '<h3>Metrics</h3><table class="metrics"><tr><th>metric</th><th>value</th><th>threshold</th><th>result</th>'
        f"</tr>{''.join(rows)}</table>"
    )


def _item(item: model.Step | model.Hook, redactor: Redactor) -> str:
    status = item.result.status
    label = f"{item.keyword}{item.name}" if isinstance(item, model.Step) else f"hook {item.name}"
    parts = [
        f'<li class="{status}"><span class="status">{status}</span> {_text(label, redactor)} '
        f'<span class="duration">{_seconds(item.result.duration_ns)}</span>'
    ]
    if isinstance(item, model.Step) and item.rows:
        rows = "".join(
            "<tr>" + "".join(f"<td>{_text(cell, redactor)}</td>" for cell in row) + "</tr>" for row in item.rows
        )
        parts.append(f"<table>{rows}</table>")
    if isinstance(item, model.Step) and item.doc_string is not None:
        parts.append(f"<pre>{_text(item.doc_string.value, redactor)}</pre>")
    if item.result.error_message:
        kind = "error" if status in _BAD else "reason"
        parts.append(f'<pre class="{kind}">{_text(item.result.error_message, redactor)}</pre>')
    parts.extend(
        _attachment(embedding, redactor, failed=status in _BAD)
        for embedding in item.embeddings
        if not (embedding.name or "").startswith(measures.EMBEDDING_PREFIX)  # the metrics table shows them
        and embedding.name != dimensioning.EMBEDDING_NAME  # so does the dimensioning table
    )
    parts.append("</li>")
    return "".join(parts)


def _figure(mime_type: str, data: bytes, caption: str) -> str:
    """An image inlined as a data URI; `caption` is already escaped."""
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img alt="{caption}" src="data:{escape(mime_type)};base64,{encoded}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _attachment(embedding: model.Embedding, redactor: Redactor, *, failed: bool) -> str:
    title = _text(embedding.name or embedding.mime_type, redactor)
    if embedding.mime_type in IMAGE_MIME_TYPES:
        return f"<div><small>picture: {title} (under Plots)</small></div>"
    if embedding.is_text:
        text = embedding.data.decode("utf-8", errors="replace")
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        opened = failed and (lines <= OPEN_EVIDENCE_MAX_LINES or embedding.name == FAILURE_EVIDENCE)
        return (
            f"<details{' open' if opened else ''}><summary>{title} <small>({lines} line(s))</small></summary>"
            f"<pre>{_text(text, redactor)}</pre></details>"
        )
    size = f"{escape(embedding.mime_type)}, {len(embedding.data)} bytes"
    return f"<div><small>{title}: {size} (see the Cucumber report)</small></div>"
