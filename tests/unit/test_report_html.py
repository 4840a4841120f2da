"""The HTML page: self-contained, escaped, redacted."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

from kfval.report import html, model, redaction
from tests.support import report_samples


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.sources.extend(value or "" for name, value in attrs if name in ("src", "href"))


def page(run: model.Run | None = None) -> str:
    redactor = redaction.Redactor()
    redactor.register(report_samples.SECRET)
    return html.render(run or report_samples.run(), redactor=redactor)


def test_the_page_needs_nothing_but_itself() -> None:
    collector = _Collector()
    collector.feed(page())

    assert "script" not in collector.tags
    assert "link" not in collector.tags
    assert collector.sources == ["data:image/png;base64," + base64.b64encode(report_samples.PIXEL_PNG).decode()]


def test_logs_are_escaped_not_interpreted() -> None:
    text = page()

    assert "&lt;b&gt;not html&lt;/b&gt;" in text
    assert "<b>not html</b>" not in text


def test_no_secret_on_the_page() -> None:
    text = page()

    assert report_samples.SECRET not in text
    assert "log line with ***" in text


def test_summary_counts_scenarios_and_failures_are_open() -> None:
    text = page()

    assert "<p>2 passed, 2 failed, 1 skipped</p>" in text
    assert text.count('<details class="failed" open>') == 2
    assert "Outline [12]" in text


def test_an_empty_run_says_so() -> None:
    assert "no scenario ran" in page(model.Run())
