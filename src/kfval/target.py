"""Connecting to the cluster a run validates: a real one from a kubeconfig or the pod's service account,
or the embedded one through the kubeconfig it wrote.

Used by the radish lifecycle (`kfval run`) and by the command line (`kfval janitor`); whoever starts
or finds the embedded cluster hands its kubeconfig in, so this module never depends on it.
"""

from __future__ import annotations

from pathlib import Path

from kfval import settings
from kfval.kube import client, errors, outages, permissions

CACHE_DIR = Path(".state/client-cache")
"""Discovery caches, one folder per run (a stale cache would hide a CRD installed since)."""


def connect(
    config: settings.Settings,
    *,
    cache_dir: Path,
    embedded_kubeconfig: Path | None,
    features: tuple[str, ...] = permissions.FEATURES,
    vanished: outages.Vanished | None = None,
) -> client.Connection:
    """A connection to `target.kind`; for `local`, to the embedded cluster whose kubeconfig is given.

    With `run.strict_permissions`, it refuses every request the permissions of `features` lack. Outages are
    ridden out for `timeouts.api_outage`; `vanished` says when the embedded cluster is gone for good.

    Raises SetupError when the target is local and no embedded cluster runs, ClusterError subclasses
    when the server cannot be reached or refuses the credentials.
    """
    target = config.target
    strict = permissions.grants(features) if config.run.strict_permissions else None
    bound = config.timeouts.api_outage
    if target.kind == "local":
        if embedded_kubeconfig is None:
            raise errors.SetupError(f"no embedded cluster runs from {target.state_dir}; it keeps nothing once stopped")
        return client.connect(
            kubeconfig=embedded_kubeconfig,
            context=None,
            in_cluster=False,
            cache_dir=cache_dir,
            outage_bound_seconds=bound,
            vanished=vanished,
            strict=strict,
        )
    return client.connect(
        kubeconfig=target.kubeconfig,
        context=target.context,
        in_cluster=target.in_cluster,
        cache_dir=cache_dir,
        outage_bound_seconds=bound,
        strict=strict,
    )
