"""Pull secrets as the API server admits them and the kubelet reads them: dockerconfigjson validation in
Go's words, service accounts' imagePullSecrets copied into new pods, keys matched to the registry."""

from __future__ import annotations

import base64
import json

import pytest

from kfval.embedded.admission.chain import Admission
from kfval.embedded.admission.imagepullsecrets import ServiceAccountPullSecrets
from kfval.embedded.clock import SystemClock
from kfval.embedded.errors import InvalidError
from kfval.embedded.kubelet import pullsecrets
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

REGISTRY = "registry.kube-system.svc.cluster.local:5000"


@pytest.fixture
def store() -> Store:
    made = Store(Catalog(), SystemClock())
    made.register_catalog_hook()
    made.create(made.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "team"}})
    made.admission = Admission(mutators=[ServiceAccountPullSecrets(made)])
    return made


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(store: Store, name: str, config: str, kind: str = "kubernetes.io/dockerconfigjson") -> Body:
    key = ".dockerconfigjson" if kind.endswith("json") else ".dockercfg"
    body = {"metadata": {"name": name}, "type": kind, "data": {key: encoded(config)}}
    return store.create(store.catalog.lookup("", "v1", "secrets"), body, namespace="team")


@pytest.mark.parametrize(
    ("config", "detail"),
    [
        ("", "unexpected end of JSON input"),
        ("{", "unexpected end of JSON input"),
        ("nope", "invalid character 'n' looking for beginning of value"),
        ("[1]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
    ],
)
def test_a_docker_config_secret_must_hold_a_json_object(store: Store, config: str, detail: str) -> None:
    with pytest.raises(InvalidError) as refused:
        secret(store, "bad", config)
    assert refused.value.message == (
        'Secret "bad" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": ' + detail
    )


def test_the_service_accounts_pull_secrets_are_copied_into_a_new_pod(store: Store) -> None:
    accounts = store.catalog.lookup("", "v1", "serviceaccounts")
    store.create(accounts, {"metadata": {"name": "default"}, "imagePullSecrets": [{"name": "pull"}]}, namespace="team")
    pods = store.catalog.lookup("", "v1", "pods")
    containers = [{"name": "main", "image": f"{REGISTRY}/team/app:1"}]
    plain = store.create(pods, {"metadata": {"name": "a"}, "spec": {"containers": containers}}, namespace="team")
    assert plain["spec"]["imagePullSecrets"] == [{"name": "pull"}]
    own = {"containers": containers, "imagePullSecrets": [{"name": "mine"}]}
    assert store.create(pods, {"metadata": {"name": "b"}, "spec": own}, namespace="team")["spec"][
        "imagePullSecrets"
    ] == [{"name": "mine"}]


def test_credentials_match_the_registry_by_host_and_port(store: Store) -> None:
    auth = encoded("robot:pw1")
    secret(
        store, "json", json.dumps({"auths": {f"https://{REGISTRY}/v1/": {"auth": auth}, "other:5000": {"auth": auth}}})
    )
    secret(store, "legacy", json.dumps({REGISTRY: {"username": "old", "password": "pw2"}}), "kubernetes.io/dockercfg")
    pod = {
        "metadata": {"namespace": "team"},
        "spec": {"imagePullSecrets": [{"name": "json"}, {"name": "missing"}, {"name": "legacy"}]},
    }
    found = list(pullsecrets.credentials_for(pod, {REGISTRY}, store=store))
    assert [(c.username, c.password) for c in found] == [("robot", "pw1"), ("old", "pw2")]
    assert "pw1" not in repr(found[0])
