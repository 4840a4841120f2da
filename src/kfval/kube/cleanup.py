"""Deleting what a scenario made: its objects newest first, then its namespace, and the janitor that
removes a whole run's leftovers by label.

Cleanup never raises: it returns the problems it met, so the terrain can report them as a failed
`after` hook without hiding the scenario's own failure (Chainsaw deletes in reverse order the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from kfval.kube import checks, errors, progress, waiting
from kfval.kube.client import Connection, describe

RUN_ID_LABEL = "kfval.dev/run-id"
SCENARIO_LABEL = "kfval.dev/scenario"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kfval"


@dataclass(frozen=True)
class Created:
    """One object a scenario created, as the cleaner needs to find it again."""

    api_version: str
    kind: str
    name: str
    namespace: str | None


@dataclass(frozen=True)
class Deletion:
    """Objects whose deletion has been asked for and that must be gone by `deadline` (a `conn.outages.now()`
    value): what a scenario's cleanup leaves to finish while the next scenario runs."""

    created: tuple[Created, ...]
    """In the order to await them: newest first, the namespace last."""
    deadline: float
    timeout_seconds: float


def delete_created(
    conn: Connection, created: Sequence[Created], *, timeout_seconds: float, sink: progress.Progress = progress.SILENT
) -> list[str]:
    """Delete in reverse order of creation, then wait until each is gone, all within one deadline; returns the
    problems. An API outage is ridden out up to that deadline (not `timeouts.api_outage`): leftovers cost
    more than a late end. A cluster that stays unreachable past it, or is gone, ends the cleanup at once.
    `sink` hears how each wait for a deletion is getting on."""
    problems, deletion = request_deletion(conn, created, timeout_seconds=timeout_seconds)
    return problems if deletion is None else problems + await_deletion(conn, deletion, sink=sink)


def request_deletion(
    conn: Connection, created: Sequence[Created], *, timeout_seconds: float
) -> tuple[list[str], Deletion | None]:
    """Ask for the deletion of each object, newest first, without waiting for any to go; returns the problems
    and the deletion to await (by `timeout_seconds` from now), None when the cluster stayed unreachable."""
    deletion = Deletion(tuple(reversed(created)), conn.outages.now() + timeout_seconds, timeout_seconds)
    try:
        with _riding_outages(conn, deletion):
            return [problem for item in deletion.created if (problem := _delete(conn, item))], deletion
    except errors.ClusterUnreachableError as error:
        return [f"cleanup could not finish: {error}"], None


def await_deletion(conn: Connection, deletion: Deletion, *, sink: progress.Progress = progress.SILENT) -> list[str]:
    """Wait until each object of `deletion` is gone, by its deadline; returns the problems."""
    problems: list[str] = []
    try:
        with _riding_outages(conn, deletion):
            for item in deletion.created:
                left = deletion.deadline - conn.outages.now()
                if left <= 0:
                    problems += [] if _gone(conn, item) else [_ran_out(deletion, item)]
                    continue
                problem = _await_gone(conn, item, left=left, sink=sink)
                if problem:
                    problems.append(problem)
    except errors.ClusterUnreachableError as error:
        problems.append(f"cleanup could not finish: {error}")
    return problems


def _gone(conn: Connection, item: Created) -> bool:
    """Whether the object is gone now: a deletion awaited after its deadline may well have finished in time."""
    try:
        conn.get(item.api_version, item.kind, item.name, item.namespace)
    except errors.NotFoundError:
        return True
    return False


def _ran_out(deletion: Deletion, item: Created) -> str:
    what = describe(item.kind, item.name, item.namespace)
    return f"cleanup ran out of its {deletion.timeout_seconds:.0f} s before {what} was gone"


def _riding_outages(conn: Connection, deletion: Deletion) -> AbstractContextManager[None]:
    name = f"the cleanup's deadline (timeouts.cleanup, {deletion.timeout_seconds:g} s)"
    return conn.outages.until(deletion.deadline, name=name)


def _delete(conn: Connection, item: Created) -> str | None:
    """Ask for the deletion; the problem, if the cluster would not take it."""
    try:
        conn.delete(item.api_version, item.kind, item.name, item.namespace, propagation="Foreground")
    except errors.NotFoundError:
        return None
    except errors.ClusterUnreachableError:
        raise
    except errors.KfvalError as error:
        return f"cannot delete {describe(item.kind, item.name, item.namespace)}: {error}"
    return None


def _await_gone(conn: Connection, item: Created, *, left: float, sink: progress.Progress) -> str | None:
    """Wait for the object to be gone in the `left` seconds of the cleanup; the problem, if it is not."""
    what = describe(item.kind, item.name, item.namespace)
    try:
        waiting.wait_until(
            conn,
            api_version=item.api_version,
            kind=item.kind,
            namespace=item.namespace,
            name=item.name,
            check=checks.gone(),
            timeout_seconds=left,
            what=f"{what} to be deleted",
            reporting=waiting.Reporting(sink, f"deleting {item.kind} {item.name}"),
        )
    except errors.ClusterUnreachableError:
        raise
    except errors.KfvalError as error:
        return str(error)
    return None


def janitor(conn: Connection, run_id: str, *, timeout_seconds: float) -> tuple[list[str], list[str]]:
    """Delete every namespace labelled with this run id; returns (deleted names, problems).

    Helm releases the run installed live in those namespaces and go with them; a release that carries
    the run's label anywhere else is named as a problem (with the command that removes it), never
    removed by deleting a namespace the run did not make.
    """
    selector = f"{RUN_ID_LABEL}={run_id},{MANAGED_BY_LABEL}={MANAGED_BY}"
    namespaces = conn.list("v1", "Namespace", label_selector=selector)["items"]
    created = [Created("v1", "Namespace", ns["metadata"]["name"], None) for ns in namespaces]
    ours = {c.name for c in created}
    releases = conn.list("v1", "Secret", None, label_selector=f"owner=helm,{RUN_ID_LABEL}={run_id}")["items"]
    problems = sorted(
        {
            f'Helm release "{labels.get("name")}" of run {run_id} lives in namespace "{namespace}", which the run '
            f"did not make: remove it with `helm uninstall {labels.get('name')} -n {namespace}`"
            for secret in releases
            if (namespace := secret["metadata"].get("namespace")) not in ours
            for labels in [secret["metadata"].get("labels") or {}]
        }
    )
    problems += delete_created(conn, created, timeout_seconds=timeout_seconds)
    return [c.name for c in created], problems
