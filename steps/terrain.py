"""Hooks only: open the run, give every scenario its own session, collect evidence when one fails,
clean up after each scenario and at the end. Hooks never raise: radish aborts the run on a hook error,
so problems are reported as a failed `after` hook of the scenario and fail the run at the end.
"""

from __future__ import annotations

import time

from radish import after, before, world

from kfval.bdd import failures, lifecycle, reporting, selection
from kfval.bdd import scenario as scenario_glue
from kfval.bdd.scenario import attach_outages, record_dimensioning, record_pods
from kfval.kube import evidence
from kfval.kube.errors import KfvalError, SetupError
from kfval.kube.session import ScenarioSession

SUMMARY_HOOK_ORDER = 10
"""`after` hooks run by descending order: the summary comes after radish's end report (order 100)."""


@before.all
def open_run(features, marker):
    failures.register()
    world.kfval, world.kfval_setup_error = None, None
    try:
        redactor = lifecycle.configure_reports(world.config.user_data)
        world.kfval = lifecycle.start(
            world.config.user_data,
            redactor,
            features=selection.keys_of(features),
            ansi=not world.config.no_ansi,
        )
    except KfvalError as error:
        world.kfval_setup_error = error  # every scenario's first step fails with it, so the reports say why
    except Exception as error:  # a hook must never raise: radish would abort without a report
        world.kfval_setup_error = SetupError(f"the run could not start: {type(error).__name__}: {error}")


@before.each_scenario
def open_session(scenario):
    if world.kfval is None:
        scenario.context.session = None
        scenario.context.setup_error = world.kfval_setup_error
        return
    blocked = lifecycle.blocked_by(world.kfval, (tag.name for tag in scenario.all_tags))
    if blocked is not None:
        scenario.context.session = None
        scenario_glue.block(scenario, blocked, skip=world.kfval.settings.run.skip_missing)
        return
    scenario.context.session = ScenarioSession(world.kfval.scope, scenario.sentence)
    world.kfval.scenarios[scenario.context.session.namespace] = scenario


@after.each_step
def record_outages(step):
    if world.kfval is None:
        return
    try:
        attach_outages(step, world.kfval.scope.conn)
    except Exception as error:  # a hook must never raise: the problem is reported instead
        world.kfval.problems.append(f"{step.sentence}: API outages could not be recorded: {error}")


@after.each_scenario
def close_session(scenario):
    session = scenario.context.session
    if session is None:
        return
    started = time.monotonic()
    try:
        if session.created:
            record_pods(scenario, session)
            record_dimensioning(scenario, session)
    except Exception as error:  # a hook must never raise: the problem is reported instead
        world.kfval.problems.append(f"{scenario.sentence}: pod times could not be read: {error}")
    if scenario.state == "failed" and session.created:
        try:
            text = evidence.collect(session.conn, session.namespace).render()
            reporting.attach(scenario, name="evidence", mime_type="text/plain", data=text)
        except Exception as error:  # a hook must never raise: the problem is reported instead
            world.kfval.problems.append(f"{scenario.sentence}: evidence could not be collected: {error}")
    problems = session.close(timeout_seconds=world.kfval.settings.timeouts.cleanup)
    try:
        attach_outages(scenario, session.conn, name="API outages during cleanup")
    except Exception as error:  # a hook must never raise: the problem is reported instead
        problems.append(f"API outages during cleanup could not be recorded: {error}")
    error = "\n".join(problems) if problems else None
    reporting.record_hook(
        scenario, kind="after", name="cleanup", error=error, duration_seconds=time.monotonic() - started
    )
    world.kfval.problems.extend(f"{scenario.sentence}: {problem}" for problem in problems)


@after.all(order=SUMMARY_HOOK_ORDER)
def close_run(features, marker):
    problems = lifecycle.finish(world.kfval) if world.kfval is not None else []
    print(lifecycle.summary_text(world.kfval, problems))
    if problems:
        raise SystemExit("kfval: cleanup problems:\n" + "\n".join(problems))
