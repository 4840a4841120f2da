"""The reports of a real short run, as a person sees them in a browser (headless Chromium).

The suite runs tests/fixtures/report-html/training.feature with the project's own steps against the
session's embedded cluster: a one-worker MNIST PyTorchJob held to an accuracy it cannot reach (a
failure with loss curves and a threshold plot), a failed worker whose expected log line carries a
registered secret, and a refusal that passes. Earlier runs' summaries are laid in its history folder
first, so the page has a trend. The page's screenshot is kept in reports/test-artifacts/.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from kfval.embedded import launch
from kfval.report import history, plots
from tests.support import chromium
from tests.support.suites import SuiteRun, run_suite

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FEATURE = "tests/fixtures/report-html/training.feature"
SECRET = "kfval-report-secret-4f2a9c"
ARTIFACTS = ROOT / "reports" / "test-artifacts"
NPM = ROOT / "tests" / "npm"
SCHEMA = ROOT / "tests" / "fixtures" / "cucumber-json-schema" / "cucumber-jvm.json"
OUTLINE_ROW = "A master and 1 worker(s) train MNIST to the expected accuracy"
RUNNING_BLUE = tuple(int(plots.PHASE_COLOURS["Running"][i : i + 2], 16) for i in (1, 3, 5))


@dataclass(frozen=True)
class RealRun:
    suite: SuiteRun
    reports: Path

    @property
    def page(self) -> Path:
        return self.reports / "report.html"


@pytest.fixture(scope="module")
def real_run(cluster: launch.ClusterInfo, mnist_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    reports = tmp_path_factory.mktemp("report-html")
    (reports / "history").mkdir()
    for day, accuracy, seconds in ((1, 0.9751, 41.0), (2, 0.9744, 44.5)):
        earlier = history.Summary(
            f"2026-01-0{day}T06:00:00+00:00", seconds, {"passed": 3}, {f"{OUTLINE_ROW}: accuracy": accuracy}
        )
        (reports / "history" / earlier.file_name).write_text(earlier.to_json())
    suite = run_suite(
        FEATURE,
        cluster.kubeconfig,
        reports,
        f"reports.html={reports / 'report.html'}",
        "thresholds.pytorch_min_accuracy=0.9999",
        "builder.registry=registry.invalid",
        "builder.username=qa",
        f"builder.password={SECRET}",
        timeout=240,
    )
    assert suite.returncode == 1, suite.output[-3000:]  # two scenarios fail on purpose
    return RealRun(suite, reports)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.details: list[dict[str, str | None]] = []
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details":
            self.details.append(dict(attrs))
        if tag == "img":
            self.images.append(dict(attrs))


def elements(dom: str) -> _Elements:
    parsed = _Elements()
    parsed.feed(dom)
    return parsed


def test_the_cucumber_report_of_the_run_validates_and_carries_the_plots(real_run: RealRun) -> None:
    document = json.loads((real_run.reports / "cucumber.json").read_text())
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    names = [
        embedding.get("name")
        for element in document[0]["elements"]
        for step in element.get("steps", [])
        for embedding in step.get("embeddings", [])
        if embedding["mime_type"] == "image/png"
    ]

    assert [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)] == []
    assert names.count("pod phases") == 2
    assert "mnist training loss per rank" in names
    assert "accuracy against its threshold" in names
    assert SECRET not in (real_run.reports / "cucumber.json").read_text() + real_run.suite.output


@pytest.mark.skipif(chromium.EXECUTABLE is None, reason="Debian's chromium is not installed (make setup installs it)")
def test_what_a_person_sees_of_the_html_report(real_run: RealRun) -> None:
    dom = chromium.measured_dom(real_run.page)
    found = elements(dom)
    scenarios = [d for d in found.details if "scenario" in (d.get("class") or "")]
    alts = [image.get("alt") for image in found.images]

    assert [(d["class"], "open" in d) for d in scenarios] == [
        ("scenario failed", True),
        ("scenario failed", True),
        ("scenario passed", False),
    ]
    assert OUTLINE_ROW in dom and "&lt;workers&gt;" not in dom
    assert SECRET not in dom and base64.b64encode(SECRET.encode()).decode() not in dom
    assert "worker cannot load its data with ***" in dom
    assert dom.count('<details open=""><summary>evidence') == 2  # the terrain's evidence of each failure
    assert "<td>accuracy</td><td>0.9" in dom and '<td>&gt;= 0.9999</td><td class="fail">fail</td>' in dom
    assert {"mnist training loss per rank", "accuracy against its threshold", "pod phases"} <= set(alts)
    assert alts.count("pod phases") == 2
    assert "Trend over the last 3 runs" in dom
    assert all(int(image.get("data-natural-width") or 0) >= 600 for image in found.images), found.images
    assert all(chromium.colours(image) > 20 for image in chromium.png_images(dom))

    shot = chromium.screenshot(real_run.page, ARTIFACTS / "report-html.png")
    print(f"\nscreenshot of the report of a real run: {ARTIFACTS / 'report-html.png'}")
    assert chromium.colours(shot) > 200
    assert RUNNING_BLUE in {colour for _, colour in shot.getcolors(maxcolors=1 << 24) or []}  # a Gantt bar is visible


@pytest.mark.skipif(chromium.EXECUTABLE is None, reason="Debian's chromium is not installed (make setup installs it)")
def test_the_plots_render_in_multiple_cucumber_html_reporter(real_run: RealRun, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: multiple-cucumber-html-reporter needs Node.js")
    if not (NPM / "node_modules" / "multiple-cucumber-html-reporter").is_dir():
        pytest.skip("tests/npm/node_modules is missing: `make setup` installs it when npm is present")
    source = tmp_path / "json"
    source.mkdir()
    shutil.copy(real_run.reports / "cucumber.json", source / "cucumber.json")
    rendered = subprocess.run(
        ["node", str(NPM / "render.js"), str(source), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    document = json.loads((source / "cucumber.json").read_text())
    expected = sum(
        embedding["mime_type"] == "image/png"
        for element in document[0]["elements"]
        for step in element.get("steps", [])
        for embedding in step.get("embeddings", [])
    )
    images = [
        image
        for page in sorted((tmp_path / "out" / "features").glob("*.html"))
        for image in elements(chromium.measured_dom(page)).images
        if (image.get("src") or "").startswith("data:image/png;base64,")
    ]

    assert len(images) == expected >= 4
    assert all(int(image.get("data-natural-width") or 0) >= 600 for image in images)
