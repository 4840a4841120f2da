"""A pod's image pull secrets, read as the kubelet's credential keyring reads them.

A pull from a private registry succeeds only with the pod's `imagePullSecrets`: Secrets of type
`kubernetes.io/dockerconfigjson` (`.dockerconfigjson`, a docker config.json with `auths`) or
`kubernetes.io/dockercfg` (`.dockercfg`, the older map without `auths`). Entries carry `auth`
(base64 of user:password) or `username` and `password`. A key matches a registry when its host
and port are the registry's (a scheme and a path such as `https://host/v1/` are ignored), and
every matching entry is tried in the order of the pod's list, as the kubelet does.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from typing import Any

from kfval.embedded.dockerconfig import Credential, entry_credential, registry_host
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

CONFIG_KEYS = {"kubernetes.io/dockerconfigjson": ".dockerconfigjson", "kubernetes.io/dockercfg": ".dockercfg"}


def entries(secret: Body) -> Mapping[str, Any]:
    """The registry entries of a pull secret; empty when it is of another type or malformed."""
    key = CONFIG_KEYS.get(str(secret.get("type")))
    raw = (secret.get("data") or {}).get(key or "")
    if not raw:
        return {}
    try:
        document = json.loads(base64.b64decode(raw))
    except (ValueError, binascii.Error):
        return {}
    if not isinstance(document, dict):
        return {}
    found = document.get("auths", {}) if key == ".dockerconfigjson" else document
    return found if isinstance(found, dict) else {}


def credentials_for(pod: Body, hosts: set[str], *, store: Store) -> Iterator[Credential]:
    """The credentials of the pod's pull secrets whose keys name one of `hosts`, in the pod's order."""
    namespace = pod["metadata"].get("namespace")
    secrets = store.catalog.lookup("", "v1", "secrets")
    for reference in (pod.get("spec") or {}).get("imagePullSecrets") or []:
        name = str((reference or {}).get("name") or "")
        try:
            secret = store.get(secrets, namespace, name) if name else None
        except NotFoundError:
            secret = None
        for key, entry in entries(secret or {}).items():
            found = entry_credential(entry) if registry_host(key) in hosts else None
            if found is not None:
                yield found
