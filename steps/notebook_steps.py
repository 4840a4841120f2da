"""Steps of features/notebook_poddefault.feature about the notebook itself: its workspace, its server,
its readiness and its files."""

from __future__ import annotations

from radish import given, then, when

from kfval.bdd import scenario
from kfval.kube import errors
from kfval.kubeflow import jupyter, notebooks


def _create(step, name, image, **variables):
    variables = {"name": name, "image": image, **variables}
    scenario.session(step).apply(scenario.manifest("notebook.yaml"), variables)


@given("a ReadWriteMany workspace {name:QuotedString} is bound")
def workspace_bound(step, name):
    storage_class = scenario.settings(step).notebooks.storage_class
    scenario.session(step).apply(
        scenario.manifest("notebook-workspace.yaml"), {"name": name, "storage_class": storage_class}
    )
    notebooks.wait_workspace_bound(scenario.session(step), name, timeout=scenario.timeouts(step).pod_start)


@when(
    "I create the notebook {name:QuotedString} labelled testing, asking for {cpu:S} CPU and {memory:S} memory, "
    "on the workspace {workspace:QuotedString}"
)
def create_notebook(step, name, cpu, memory, workspace):
    _create(step, name, scenario.settings(step).image("notebook"), cpu=cpu, memory=memory, workspace=workspace)


@when(
    "I create the R notebook {name:QuotedString} labelled testing, asking for {cpu:S} CPU and {memory:S} memory, "
    "on the workspace {workspace:QuotedString}"
)
def create_r_notebook(step, name, cpu, memory, workspace):
    _create(step, name, scenario.settings(step).image("notebook_r"), cpu=cpu, memory=memory, workspace=workspace)


@given("the notebook {name:QuotedString} is ready on the workspace {workspace:QuotedString}")
def notebook_ready(step, name, workspace):
    _create(step, name, scenario.settings(step).image("notebook"), cpu="500m", memory="1Gi", workspace=workspace)
    notebooks.wait_ready(scenario.session(step), name, timeout=scenario.timeouts(step).pod_start)


@then("the notebook {name:QuotedString} becomes ready")
def becomes_ready(step, name):
    notebooks.wait_ready(scenario.session(step), name, timeout=scenario.timeouts(step).pod_start)


@then("the notebook {name:QuotedString} cannot be scheduled, for lack of {resource:w}")
def cannot_be_scheduled(step, name, resource):
    try:
        notebooks.wait_ready(scenario.session(step), name, timeout=scenario.timeouts(step).pod_start)
    except errors.WorkloadFailedError as failure:
        scenario.attach_text(step, "why the notebook cannot start", str(failure))
        assert f"Insufficient {resource}" in str(failure), (
            f"the notebook failed, but not for lack of {resource}: {failure}"
        )
        return
    raise AssertionError(f'notebook "{name}" became ready although it asks for more {resource} than any node has')


@then("the pod of notebook {name:QuotedString} requests {cpu:S} CPU and {memory:S} memory")
def pod_requests(step, name, cpu, memory):
    found = notebooks.pod(scenario.session(step), name)
    scenario.expect_none(notebooks.request_mismatches(found, {"cpu": cpu, "memory": memory}))


@when("the notebook {name:QuotedString} saves the file {file:QuotedString} with {text:QuotedString}")
def save_file(step, name, file, text):
    jupyter.write_files(scenario.session(step), name, {file: text})


@then("the notebook {name:QuotedString} reads {text:QuotedString} from {file:QuotedString}")
def notebook_reads(step, name, text, file):
    found = jupyter.read_file(scenario.session(step), name, file)
    assert found == text, f'notebook "{name}" reads {found!r} from {file}, expected {text!r}'


@then("another pod on the workspace {workspace:QuotedString} reads {text:QuotedString} from {file:QuotedString}")
def another_pod_reads(step, workspace, text, file):
    session = scenario.session(step)
    session.apply(scenario.manifest("workspace-reader.yaml"), {"name": "reader", "workspace": workspace, "file": file})
    printed = notebooks.pod_output(session, "reader", timeout=scenario.timeouts(step).pod_start)
    found = printed.removesuffix("\n")  # the kubelet ends a last line without newline with one
    assert found == text, f"the second pod read {found!r} from {file}, expected {text!r}"


@when("the notebook {name:QuotedString} is stopped and started again")
def stop_and_start(step, name):
    session, timeouts = scenario.session(step), scenario.timeouts(step)
    notebooks.set_stopped(session, name, stopped=True)
    notebooks.wait_pod_gone(session, name, timeout=timeouts.cleanup)
    notebooks.set_stopped(session, name, stopped=False)
    notebooks.wait_ready(session, name, timeout=timeouts.pod_start)


@when("the pod of notebook {name:QuotedString} is deleted and the notebook comes back")
def pod_recreated(step, name):
    session = scenario.session(step)
    old = notebooks.pod(session, name)["metadata"]["uid"]
    session.conn.delete("v1", "Pod", notebooks.pod_name(name), session.namespace)
    notebooks.wait_ready_again(session, name, replacing=old, timeout=scenario.timeouts(step).pod_start)
