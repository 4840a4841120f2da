"""What the suite knows about Kubeflow notebook servers and PodDefaults: profile namespaces, the pod a
Notebook gets, when it is ready, why it cannot be, and how to reach its Jupyter server from inside.

A Notebook `<name>` runs as the StatefulSet pod `<name>-0` (label `notebook-name`); it is ready when
its status copies a Ready pod. It can never become ready when the PodDefault webhook refuses its pod
(the StatefulSet's FailedCreate, re-issued onto the Notebook), when its image cannot be pulled, or
when it asks for more than any node has: each ends the wait at once, in the cluster's own words.
The Jupyter server is reached from inside its pod (exec), as a user's browser reaches it through
Istio, so the same steps work on a real cluster behind its gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from kfval.kube import checks, errors, guards, quantities, waiting
from kfval.kube.client import Body
from kfval.kube.session import ScenarioSession

API_VERSION = "kubeflow.org/v1beta1"
PROFILE_LABELS = {"app.kubernetes.io/part-of": "kubeflow-profile"}
"""What the profile controller puts on a profile's namespace; the PodDefault webhook acts only there."""
NOTEBOOK_NAME_LABEL = "notebook-name"
STOP_ANNOTATION = "kubeflow-resource-stopped"
PODDEFAULT_ANNOTATION_PREFIX = "poddefault.admission.kubeflow.org/poddefault-"


def pod_name(name: str) -> str:
    return f"{name}-0"


def pod(session: ScenarioSession, name: str) -> Body:
    return session.conn.get("v1", "Pod", pod_name(name), session.namespace)


def _refusal(session: ScenarioSession, name: str) -> str | None:
    """The StatefulSet's FailedCreate (re-issued on the Notebook): an admission webhook refused the pod."""
    return guards.create_refusal(session.conn, session.namespace, kinds=("StatefulSet", "Notebook"), name=name)


def _too_big(session: ScenarioSession, found: Body) -> str | None:
    """Why the pod can never be scheduled: it asks for more CPU or memory than any node can hold."""
    scheduled = checks.condition(found, "PodScheduled") or {}
    if scheduled.get("reason") != "Unschedulable" or "Insufficient" not in str(scheduled.get("message")):
        return None
    nodes = session.conn.list("v1", "Node")["items"]
    wanted = quantities.pod_requests(found.get("spec") or {})
    for resource, amount in wanted.items():
        largest = max(
            (quantities.parse((n.get("status") or {}).get("allocatable", {}).get(resource, "0")) for n in nodes),
            default=Fraction(0),
        )
        if amount > largest:
            asked, most = quantities.shown(amount), quantities.shown(largest)
            return (
                f"pod {found['metadata']['name']} asks for {resource} {asked} and no node has more than {most}: "
                f"{scheduled.get('reason')}: {scheduled.get('message')}"
            )
    return None


def _readiness(session: ScenarioSession, name: str) -> checks.Check:
    def check(objects: Mapping[str, Body]) -> checks.Verdict:
        waiting_for = f'notebook "{name}" to be ready'
        notebook = objects.get(name)
        status = (notebook or {}).get("status") or {}
        if int(status.get("readyReplicas") or 0) >= 1 and checks.true_condition({"status": status}, "Ready"):
            return checks.Verdict(True, None, waiting_for)
        refused = _refusal(session, name)
        if refused:
            return checks.Verdict(False, f'notebook "{name}" cannot create its pod: {refused}', waiting_for)
        try:
            found = pod(session, name)
        except errors.NotFoundError:
            found = None
        grace = session.run.image_pull_grace_seconds
        failure = checks.pod_failure(found, image_pull_grace_seconds=grace) if found else None
        failure = failure or (_too_big(session, found) if found else None)
        have = status.get("readyReplicas", 0)
        return checks.Verdict(
            False, failure, waiting_for, (checks.difference("status.readyReplicas", want=1, have=have),)
        )

    return check


def wait_ready(session: ScenarioSession, name: str, *, timeout: float) -> Body:
    """The Notebook once its pod is Ready; WorkloadFailedError at once when it never can be."""
    found = waiting.wait_until(
        session.conn,
        api_version=API_VERSION,
        kind="Notebook",
        namespace=session.namespace,
        name=name,
        check=_readiness(session, name),
        timeout_seconds=timeout,
        what=f'notebook "{name}" to be ready',
        reporting=session.reporting(
            f"notebook {name}", lambda _seen: [session.pod_phases(f"{NOTEBOOK_NAME_LABEL}={name}")]
        ),
    )
    return dict(found[name])


def wait_workspace_bound(session: ScenarioSession, claim: str, *, timeout: float) -> None:
    """The workspace claim Bound; at once WorkloadFailedError when the storage class cannot provide it."""

    def check(objects: Mapping[str, Body]) -> checks.Verdict:
        waiting_for = f'workspace "{claim}" to be Bound'
        phase = ((objects.get(claim) or {}).get("status") or {}).get("phase")
        if phase == "Bound":
            return checks.Verdict(True, None, waiting_for)
        selector = f"involvedObject.name={claim},reason=ProvisioningFailed"
        failed = session.conn.list("v1", "Event", session.namespace, field_selector=selector)["items"]
        failure = None
        if failed:
            failure = (
                f'workspace "{claim}" cannot be provisioned: {failed[-1].get("message")}; notebooks need a '
                "StorageClass that offers ReadWriteMany: name one in radish.ini [notebooks] storage_class"
            )
        return checks.Verdict(
            False, failure, waiting_for, (checks.difference("status.phase", want="Bound", have=phase),)
        )

    waiting.wait_until(
        session.conn,
        api_version="v1",
        kind="PersistentVolumeClaim",
        namespace=session.namespace,
        name=claim,
        check=check,
        timeout_seconds=timeout,
        what=f'workspace "{claim}" to be Bound',
        reporting=session.reporting(f"workspace {claim}"),
    )


def wait_ready_again(session: ScenarioSession, name: str, *, replacing: str, timeout: float) -> Body:
    """The notebook ready with a new pod: not the one whose uid is `replacing` (deleted by the caller)."""

    def new_pod(objects: Mapping[str, Body]) -> checks.Verdict:
        uids = [(p.get("metadata") or {}).get("uid") for p in objects.values()]
        done = bool(uids) and replacing not in uids
        return checks.Verdict(done, None, "a new pod", () if done else ("the old pod is still there",))

    waiting.wait_until(
        session.conn,
        api_version="v1",
        kind="Pod",
        namespace=session.namespace,
        name=pod_name(name),
        check=new_pod,
        timeout_seconds=timeout,
        what=f'notebook "{name}" to get a new pod',
        reporting=session.reporting(f"notebook {name}"),
    )
    return wait_ready(session, name, timeout=timeout)


def expect_refused(session: ScenarioSession, name: str, *, timeout: float) -> str:
    """The admission refusal that keeps the notebook from creating its pod; ExpectationError when it starts."""
    try:
        wait_ready(session, name, timeout=timeout)
    except errors.WorkloadFailedError as failure:
        refusal = _refusal(session, name)
        if refusal is None:
            raise
        if int(
            (session.conn.get(API_VERSION, "Notebook", name, session.namespace).get("status") or {}).get(
                "readyReplicas"
            )
            or 0
        ):
            raise errors.ExpectationError(
                f'notebook "{name}" was refused a pod, yet reports a ready replica'
            ) from failure
        return refusal
    raise errors.ExpectationError(f'notebook "{name}" became ready: nothing refused its pod')


def leave_profile(session: ScenarioSession) -> None:
    """Take the profile labels off the scenario's namespace: the PodDefault webhook no longer acts there."""
    patch = {"metadata": {"labels": dict.fromkeys(PROFILE_LABELS)}}
    session.conn.patch("v1", "Namespace", session.namespace, None, patch)


def pod_output(session: ScenarioSession, name: str, *, timeout: float) -> str:
    """What a run-to-completion pod printed, once it Succeeded (it fails at once if it cannot)."""
    waiting.wait_until(
        session.conn,
        api_version="v1",
        kind="Pod",
        namespace=session.namespace,
        name=name,
        check=checks.pods_completed(1, image_pull_grace_seconds=session.run.image_pull_grace_seconds),
        timeout_seconds=timeout,
        what=f'pod "{name}" to complete',
        reporting=session.reporting(),
    )
    return session.conn.pod_log(name, session.namespace)


def wait_pod_gone(session: ScenarioSession, name: str, *, timeout: float) -> None:
    waiting.wait_until(
        session.conn,
        api_version="v1",
        kind="Pod",
        namespace=session.namespace,
        label_selector=f"{NOTEBOOK_NAME_LABEL}={name}",
        check=checks.gone(),
        timeout_seconds=timeout,
        what=f'the pod of notebook "{name}" to be removed',
        reporting=session.reporting(f"notebook {name}"),
    )


def set_stopped(session: ScenarioSession, name: str, *, stopped: bool) -> None:
    """Stop or start a notebook as the Jupyter Web App does: the `kubeflow-resource-stopped` annotation."""
    value = "kfval" if stopped else None
    session.conn.patch(
        API_VERSION, "Notebook", name, session.namespace, {"metadata": {"annotations": {STOP_ANNOTATION: value}}}
    )


def request_mismatches(found: Body, expected: Mapping[str, str]) -> list[str]:
    """The notebook container's requests against the expected ones, compared as quantities (`0.5` is `500m`)."""
    container = found["spec"]["containers"][0]
    requests = (container.get("resources") or {}).get("requests") or {}
    return [
        f"container {container['name']} requests {resource} {requests.get(resource)!r}, expected {want!r}"
        for resource, want in expected.items()
        if resource not in requests or quantities.parse(requests[resource]) != quantities.parse(want)
    ]


def environment(found: Body) -> dict[str, Any]:
    """The env of the notebook's first container as the pod spec lists it (value or valueFrom)."""
    container = found["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env") or []}


def image_of(found: Body) -> str:
    return str(found["spec"]["containers"][0].get("image", ""))
