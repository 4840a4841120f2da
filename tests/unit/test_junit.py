"""The JUnit XML writer, read back the way CI parsers read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kfval.report import junit, model, redaction
from tests.support import report_samples


def parsed(run: model.Run | None = None) -> ET.Element:
    redactor = redaction.Redactor()
    redactor.register(report_samples.SECRET)
    return ET.fromstring(junit.render(run or report_samples.run(), redactor=redactor))


def cases() -> list[ET.Element]:
    return list(parsed().iter("testcase"))


def test_one_testcase_per_scenario_with_unique_names() -> None:
    names = [(case.get("classname"), case.get("name")) for case in cases()]

    assert len(names) == 5
    assert len(set(names)) == 5
    assert [name for _, name in names] == [
        "Passing",
        "Passing (2)",
        "Outline [count=1]",
        "Outline [count=12]",
        "GPU training",
    ]
    assert {classname for classname, _ in names} == {"sample.Report sample"}


def test_time_is_present_even_when_a_scenario_took_no_time() -> None:
    root = parsed()
    times = {case.get("name"): case.get("time") for case in root.iter("testcase")}

    assert times["GPU training"] == "0.000"
    assert times["Passing"] == "0.006"
    assert root.get("time") is not None
    assert all(suite.get("time") is not None for suite in root.iter("testsuite"))


def test_failures_carry_the_failing_step_as_message_and_the_traceback_as_text() -> None:
    row = next(case for case in cases() if case.get("name") == "Outline [count=12]")
    failure = row.find("failure")

    assert failure is not None
    assert failure.get("message") == "Then the count is below 10 (line 35): AssertionError: count 12 is not below 10"
    assert "Traceback (most recent call last)" in (failure.text or "")
    assert "passed  Given a count of 12 (line 34)" in (failure.text or "")


def test_a_failing_cleanup_fails_the_testcase_with_the_secret_masked() -> None:
    case = next(case for case in cases() if case.get("name") == "Passing (2)")
    failure = case.find("failure")

    assert failure is not None
    assert failure.get("message") == "hook terrain.py:clean_up: namespace still Terminating (token ***)"


def test_counts_match_the_cases() -> None:
    suite = next(parsed().iter("testsuite"))

    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("5", "2", "1")


def test_skipped_scenarios_say_why() -> None:
    case = next(case for case in cases() if case.get("name") == "GPU training")
    skipped = case.find("skipped")

    assert skipped is not None
    assert skipped.get("message") == "scenario skipped: Given a GPU node (line 51): no node offers nvidia.com/gpu"


def test_location_timestamp_properties_and_evidence() -> None:
    case = cases()[0]
    properties = {prop.get("name"): prop.get("value") for prop in case.iterfind("properties/property")}
    out = case.findtext("system-out") or ""

    assert (case.get("file"), case.get("line")) == ("features/sample.feature", "12")
    assert case.get("timestamp") == "2026-01-02T03:04:05.678000+00:00"
    assert properties == {"status": "passed", "tags": "@kubeflow @smoke @gpu", "accuracy": "0.97"}
    assert "log line with ***" in out
    assert "loss curve" in out
    assert "image/png, 67 bytes" in out
    suite_properties = {
        p.get("name"): p.get("value") for p in next(parsed().iter("testsuite")).iterfind("properties/property")
    }
    assert suite_properties == {"kubernetes": "v1.32.0"}


def test_no_secret_and_no_terminal_colour_codes_in_the_document() -> None:
    scenario = report_samples.skipped_scenario()
    coloured = model.Scenario(
        id=scenario.id,
        keyword=scenario.keyword,
        name="\x1b[31mred\x1b[0m scenario",
        line=1,
        steps=(model.Step("Given ", "x", 2, model.Result(model.Status.FAILED, 1, "\x1b[31mboom\x1b[0m")),),
    )
    run = report_samples.run()
    feature = run.features[0]
    run = model.Run(
        features=(
            model.Feature(
                feature.uri, feature.id, feature.keyword, feature.name, 1, scenarios=(*feature.scenarios, coloured)
            ),
        )
    )
    redactor = redaction.Redactor()
    redactor.register(report_samples.SECRET)
    text = junit.render(run, redactor=redactor)

    assert report_samples.SECRET not in text
    assert "\x1b" not in text
    assert 'name="red scenario"' in text
    assert 'message="Given x (line 2): boom"' in text


def test_an_empty_run_is_a_valid_document() -> None:
    root = parsed(model.Run())

    assert root.tag == "testsuites"
    assert root.get("time") == "0.000"
