"""Renders a run as one self-contained HTML page that a QA engineer can open without a CI server.

No scripts, no external styles or images: metric plots are inlined as data URIs, so the page can be
mailed or attached to a ticket. Every piece of run text is escaped (the common Cucumber HTML
reporters interpolate pod logs unescaped, see reference/report-formats.md §3.2 item 12) and redacted.
"""

from __future__ import annotations

import base64
from html import escape

from kfval.report import model
from kfval.report.redaction import Redactor

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 2em; }
details { margin: 0.4em 0; border-left: 4px solid #ccc; padding-left: 0.6em; }
.passed { border-color: #2a2; } .failed, .undefined { border-color: #c22; } .skipped, .pending { border-color: #ca2; }
.status { font-weight: bold; text-transform: uppercase; font-size: 0.8em; }
pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; white-space: pre-wrap; }
img { max-width: 640px; display: block; }
td, th { border: 1px solid #ccc; padding: 0 0.4em; } table { border-collapse: collapse; }
"""


def render(run: model.Run, *, redactor: Redactor, title: str = "kfval report") -> str:
    """The whole page; secrets masked and all text escaped."""
    counts = dict.fromkeys(model.Status, 0)
    for feature in run.features:
        for scenario in feature.scenarios:
            counts[scenario.status] += 1
    summary = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    body = "".join(_feature(feature, redactor) for feature in run.features)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(summary or 'no scenario ran')}</p>{body}</body></html>\n"
    )


def _text(text: str, redactor: Redactor) -> str:
    return escape(redactor.redact(text))


def _feature(feature: model.Feature, redactor: Redactor) -> str:
    scenarios = "".join(_scenario(scenario, redactor) for scenario in feature.scenarios)
    return (
        f"<h2>{_text(feature.keyword, redactor)}: {_text(feature.name, redactor)}</h2>"
        f"<p>{_text(feature.uri, redactor)}</p>{scenarios}"
    )


def _scenario(scenario: model.Scenario, redactor: Redactor) -> str:
    status = str(scenario.status)
    seconds = scenario.duration_ns / model.NANOSECONDS_PER_SECOND
    name = scenario.name
    if scenario.example is not None:
        name += " [" + ", ".join(scenario.example.values) + "]"
    items = "".join(_item(item, redactor) for item in scenario.timeline)
    tags = " ".join(tag.name for tag in scenario.tags)
    return (
        f'<details class="{status}"{" open" if status == "failed" else ""}><summary>'
        f'<span class="status">{status}</span> {_text(name, redactor)} ({seconds:.1f} s) '
        f"<small>{_text(tags, redactor)}</small></summary>{items}</details>"
    )


def _item(item: model.Step | model.Hook, redactor: Redactor) -> str:
    status = str(item.result.status)
    label = f"{item.keyword}{item.name}" if isinstance(item, model.Step) else f"hook {item.name}"
    parts = [f'<div class="{status}"><span class="status">{status}</span> {_text(label, redactor)}']
    if isinstance(item, model.Step) and item.rows:
        rows = "".join(
            "<tr>" + "".join(f"<td>{_text(cell, redactor)}</td>" for cell in row) + "</tr>" for row in item.rows
        )
        parts.append(f"<table>{rows}</table>")
    if isinstance(item, model.Step) and item.doc_string is not None:
        parts.append(f"<pre>{_text(item.doc_string.value, redactor)}</pre>")
    if item.result.error_message:
        parts.append(f"<pre>{_text(item.result.error_message, redactor)}</pre>")
    parts.extend(_embedding(embedding, redactor) for embedding in item.embeddings)
    parts.append("</div>")
    return "".join(parts)


def _embedding(embedding: model.Embedding, redactor: Redactor) -> str:
    title = _text(embedding.name or embedding.mime_type, redactor)
    if embedding.is_text:
        return f"<p>{title}</p><pre>{_text(embedding.data.decode('utf-8', errors='replace'), redactor)}</pre>"
    if embedding.mime_type in ("image/png", "image/gif", "image/jpeg", "image/svg+xml"):
        data = base64.b64encode(embedding.data).decode("ascii")
        return f'<p>{title}</p><img alt="{title}" src="data:{escape(embedding.mime_type)};base64,{data}">'
    return f"<p>{title}: {escape(embedding.mime_type)}, {len(embedding.data)} bytes (see the Cucumber report)</p>"
