"""Renders a run as JUnit XML for the CI systems that do not read Cucumber JSON (GitLab, Jenkins, GitHub actions).

One testsuite per feature, one testcase per scenario or examples row, following the mapping in
reference/report-formats.md §4: `classname` is `<feature file stem>.<Feature name>` (GitLab shows it
as the suite and drops duplicate names, so names are made unique), `file` and `line` point at the
scenario, a failure carries the failing step and first error line as its message and the step list
and traceback as its text, and the scenario's text evidence goes to system-out.

junit-xml 1.9 builds the document; two of its gaps are closed afterwards on the parsed tree: it
omits `time` when a case took 0 seconds (dorny/test-reporter then reads NaN), and it cannot write
case-level `properties` (where the suite puts tags and training metrics).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

import junit_xml

from kfval.report import model
from kfval.report.redaction import Redactor

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def render(run: model.Run, *, redactor: Redactor) -> str:
    """The run as a JUnit XML document, redacted and stripped of terminal colour codes."""
    names: set[tuple[str, str]] = set()
    suites = [_suite(feature, redactor, names) for feature in run.features]
    document = junit_xml.to_xml_report_string(suites, prettyprint=False)
    root = ET.fromstring(document)
    _complete(root, run, redactor)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _clean(text: str, redactor: Redactor) -> str:
    return redactor.redact(_ANSI.sub("", text))


def _suite(feature: model.Feature, redactor: Redactor, names: set[tuple[str, str]]) -> junit_xml.TestSuite:
    classname = _clean(f"{PurePosixPath(feature.uri).stem}.{feature.name}", redactor)
    cases = [
        _case(scenario, feature, classname=classname, redactor=redactor, names=names) for scenario in feature.scenarios
    ]
    started = next((s.started_at for s in feature.scenarios if s.started_at is not None), None)
    return junit_xml.TestSuite(
        _clean(feature.name, redactor),
        cases,
        id=feature.id,
        file=feature.uri,
        timestamp=started.isoformat() if started else None,
    )


def case_name(scenario: model.Scenario) -> str:
    """The scenario name, plus the examples values for an outline row (GitLab needs distinct names)."""
    if scenario.example is None:
        return scenario.name
    values = ", ".join(
        f"{key}={value}" for key, value in zip(scenario.example.header, scenario.example.values, strict=False)
    )
    return f"{scenario.name} [{values}]"


def _unique(classname: str, name: str, names: set[tuple[str, str]]) -> str:
    candidate, attempt = name, 1
    while (classname, candidate) in names:
        attempt += 1
        candidate = f"{name} ({attempt})"
    names.add((classname, candidate))
    return candidate


def _case(
    scenario: model.Scenario,
    feature: model.Feature,
    *,
    classname: str,
    redactor: Redactor,
    names: set[tuple[str, str]],
) -> junit_xml.TestCase:
    case = junit_xml.TestCase(
        _unique(classname, _clean(case_name(scenario), redactor), names),
        classname=classname,
        elapsed_sec=scenario.duration_ns / model.NANOSECONDS_PER_SECOND,
        stdout=_clean(_evidence(scenario), redactor) or None,
        timestamp=scenario.started_at.isoformat() if scenario.started_at else None,
        file=feature.uri,
        line=str(scenario.line),
    )
    status = scenario.status
    failing = scenario.failure
    if failing is not None:
        case.add_failure_info(
            message=_clean(_failure_message(failing), redactor),
            output=_clean(_failure_text(scenario), redactor),
            failure_type=str(failing.result.status),
        )
    elif status in (model.Status.SKIPPED, model.Status.PENDING):
        case.add_skipped_info(message=f"scenario {status}: " + _skip_reason(scenario))
    return case


def _label(item: model.Step | model.Hook) -> str:
    if isinstance(item, model.Step):
        return f"{item.keyword}{item.name} (line {item.line})"
    return f"hook {item.name}"


def _failure_message(item: model.Step | model.Hook) -> str:
    error = (item.result.error_message or "").strip()
    first_line = error.splitlines()[0] if error else str(item.result.status)
    return f"{_label(item)}: {first_line}"


def _failure_text(scenario: model.Scenario) -> str:
    lines = [f"{item.result.status:>9}  {_label(item)}" for item in scenario.timeline]
    errors = [
        f"--- {_label(item)}\n{item.result.error_message}" for item in scenario.timeline if item.result.error_message
    ]
    return "\n".join([*lines, "", *errors])


def _skip_reason(scenario: model.Scenario) -> str:
    for step in scenario.all_steps:
        if step.result.status is not model.Status.PASSED:
            return _label(step) + (f": {step.result.error_message}" if step.result.error_message else "")
    return "no step ran"


def _evidence(scenario: model.Scenario) -> str:
    """Text embeddings in full, binary ones by name and size (they live in the Cucumber report)."""
    parts: list[str] = []
    for item in scenario.timeline:
        for embedding in item.embeddings:
            title = f"=== {embedding.name or embedding.mime_type} ({_label(item)})"
            if embedding.is_text:
                parts.append(f"{title}\n{embedding.data.decode('utf-8', errors='replace')}")
            else:
                parts.append(f"{title}: {embedding.mime_type}, {len(embedding.data)} bytes in the Cucumber report")
    return "\n".join(parts)


def _complete(root: ET.Element, run: model.Run, redactor: Redactor) -> None:
    """Write `time` on every case and suite, and case-level properties, which junit-xml cannot."""
    total_ns = 0
    for suite_element, feature in zip(root.iter("testsuite"), run.features, strict=True):
        suite_ns = 0
        for case_element, scenario in zip(suite_element.iter("testcase"), feature.scenarios, strict=True):
            case_element.set("time", f"{scenario.duration_ns / model.NANOSECONDS_PER_SECOND:.3f}")
            suite_ns += scenario.duration_ns
            properties = [("status", str(scenario.status))]
            if scenario.tags:
                properties.append(("tags", " ".join(tag.name for tag in scenario.tags)))
            properties.extend(scenario.properties)
            holder = ET.Element("properties")
            for name, value in properties:
                ET.SubElement(holder, "property", {"name": _clean(name, redactor), "value": _clean(value, redactor)})
            case_element.insert(0, holder)
        suite_element.set("time", f"{suite_ns / model.NANOSECONDS_PER_SECOND:.3f}")
        total_ns += suite_ns
    root.set("time", f"{total_ns / model.NANOSECONDS_PER_SECOND:.3f}")
    if run.properties:
        for suite_element in root.iter("testsuite"):
            holder = ET.Element("properties")
            for name, value in run.properties:
                ET.SubElement(holder, "property", {"name": _clean(name, redactor), "value": _clean(value, redactor)})
            suite_element.insert(0, holder)
