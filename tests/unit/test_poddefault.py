"""Kubeflow's PodDefault webhook, rule by rule (reference §10.1), through the admission chain and a real store."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kfval.embedded.admission.chain import Admission
from kfval.embedded.admission.poddefault import PodDefaultMutator, aggregate
from kfval.embedded.clock import SystemClock
from kfval.embedded.errors import WebhookDeniedError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body
from tests.support.cluster import register_crds

PROFILE = {"app.kubernetes.io/part-of": "kubeflow-profile"}
ENV_VAR = 'v1.EnvVar{Name:"POD_DEFAULT", Value:"%s", ValueFrom:(*v1.EnvVarSource)(nil)}'


@pytest.fixture
def store() -> Store:
    made = Store(Catalog(), SystemClock())
    made.register_catalog_hook()
    register_crds(made)
    namespaces = made.catalog.lookup("", "v1", "namespaces")
    made.create(namespaces, {"metadata": {"name": "team", "labels": dict(PROFILE)}})
    made.create(namespaces, {"metadata": {"name": "plain"}})
    made.admission = Admission(mutators=[PodDefaultMutator(made)])
    return made


def poddefault(store: Store, name: str, namespace: str = "team", selector: Body | None = None, **spec: Any) -> Body:
    rt = store.catalog.lookup("kubeflow.org", "v1alpha1", "poddefaults")
    chosen = {"matchLabels": {"testing": "true"}} if selector is None else selector
    body = {"metadata": {"name": name}, "spec": {"selector": chosen, **spec}}
    return store.create(rt, body, namespace=namespace)


def pod(store: Store, namespace: str = "team", *, labels: Body | None = None, **spec: Any) -> Body:
    containers = spec.pop("containers", [{"name": "notebook", "image": "jupyter:1"}])
    body = {
        "metadata": {"name": "nb-0", "labels": labels if labels is not None else {"testing": "true"}},
        "spec": {"containers": containers, **spec},
    }
    return store.create(store.catalog.lookup("", "v1", "pods"), body, namespace=namespace)


def env_of(created: Body, container: int = 0) -> dict[str, Any]:
    return {
        e["name"]: e.get("value", e.get("valueFrom")) for e in created["spec"]["containers"][container].get("env", [])
    }


def refusal(store: Store, **kwargs: Any) -> str:
    with pytest.raises(WebhookDeniedError) as refused:
        pod(store, **kwargs)
    assert refused.value.code == 400 and refused.value.reason == ""
    return refused.value.message


def test_env_and_a_secret_variable_are_injected_with_the_marker_annotation(store: Store) -> None:
    secret_env = {"name": "SECRET_TOKEN", "valueFrom": {"secretKeyRef": {"name": "test-secret", "key": "token"}}}
    made = poddefault(store, "testing", env=[{"name": "POD_DEFAULT", "value": "Testing is enabled"}, secret_env])
    created = pod(store)
    assert env_of(created) == {
        "POD_DEFAULT": "Testing is enabled",
        "SECRET_TOKEN": {"secretKeyRef": {"name": "test-secret", "key": "token"}},
    }
    annotation = created["metadata"]["annotations"]["poddefault.admission.kubeflow.org/poddefault-testing"]
    assert annotation == made["metadata"]["resourceVersion"]


def test_only_profile_namespaces_only_matching_pods_and_not_excluded_or_mirror_pods(store: Store) -> None:
    poddefault(store, "testing", namespace="team", env=[{"name": "A", "value": "1"}])
    poddefault(store, "testing", namespace="plain", env=[{"name": "A", "value": "1"}])
    assert env_of(pod(store, "plain")) == {}
    assert env_of(pod(store, labels={"testing": "false"})) == {}
    for annotation in ({"poddefault.admission.kubeflow.org/exclude": "true"}, {"kubernetes.io/config.mirror": "x"}):
        body = {"metadata": {"name": "x", "labels": {"testing": "true"}, "annotations": annotation}}
        body["spec"] = {"containers": [{"name": "c", "image": "i:1"}]}
        created = store.create(store.catalog.lookup("", "v1", "pods"), body, namespace="team")
        assert env_of(created) == {}
        store.delete(store.catalog.lookup("", "v1", "pods"), "team", "x")


def test_an_empty_selector_matches_every_pod_of_the_namespace(store: Store) -> None:
    poddefault(store, "everyone", selector={}, env=[{"name": "A", "value": "1"}])
    assert env_of(pod(store, labels={})) == {"A": "1"}


def test_env_goes_to_every_container_and_an_identical_variable_is_kept_once(store: Store) -> None:
    poddefault(store, "one", env=[{"name": "A", "value": "1"}])
    poddefault(store, "two", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    containers = [{"name": "a", "image": "i:1"}, {"name": "b", "image": "i:1", "env": [{"name": "A", "value": "1"}]}]
    created = pod(store, containers=containers)
    assert env_of(created, 0) == {"A": "1", "B": "2"}
    assert [e["name"] for e in created["spec"]["containers"][1]["env"]] == ["A", "B"]


def test_two_poddefaults_setting_one_variable_differently_are_refused_in_the_webhooks_words(store: Store) -> None:
    poddefault(store, "alpha", env=[{"name": "POD_DEFAULT", "value": "a"}])
    poddefault(store, "beta", env=[{"name": "POD_DEFAULT", "value": "b"}])
    assert refusal(store) == (
        'admission webhook "admission-webhook-deployment.kubeflow.org" denied the request: conflict occurred while '
        "applying poddefaults: alpha,beta on pod: nb-0 err: merging env for beta has a conflict on POD_DEFAULT: \n"
        f"{ENV_VAR % 'b'}\ndoes not match\n{ENV_VAR % 'a'}\n in container"
    )


def test_a_variable_the_pod_already_sets_differently_is_a_conflict(store: Store) -> None:
    poddefault(store, "alpha", env=[{"name": "POD_DEFAULT", "value": "a"}])
    containers = [{"name": "c", "image": "i:1", "env": [{"name": "POD_DEFAULT", "value": "mine"}]}]
    assert "merging env for alpha has a conflict on POD_DEFAULT" in refusal(store, containers=containers)


def test_env_from_is_appended_and_never_conflicts(store: Store) -> None:
    source = {"secretRef": {"name": "creds"}}
    poddefault(store, "one", envFrom=[source])
    poddefault(store, "two", envFrom=[source])
    assert pod(store)["spec"]["containers"][0]["envFrom"] == [source, source]


def test_volumes_by_name_and_secret_volumes_differ_from_the_defaulted_pods(store: Store) -> None:
    scratch = {"name": "scratch", "emptyDir": {}}
    poddefault(store, "one", volumes=[scratch], volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}])
    poddefault(store, "two", volumes=[scratch])
    created = pod(store)
    assert [v["name"] for v in created["spec"]["volumes"]] == ["scratch"]
    assert created["spec"]["containers"][0]["volumeMounts"][0] == {"name": "scratch", "mountPath": "/scratch"}
    store.delete(store.catalog.lookup("", "v1", "pods"), "team", "nb-0")
    secret = {"name": "creds", "secret": {"secretName": "creds"}}
    poddefault(store, "three", volumes=[secret])
    message = refusal(store, volumes=[copy.deepcopy(secret)])  # the pod's copy is defaulted: defaultMode 420
    assert 'merging volumes for three has a conflict on creds: \nv1.Volume{Name:"creds"' in message


def test_volume_mounts_conflict_by_name_and_by_mount_path(store: Store) -> None:
    poddefault(store, "one", volumeMounts=[{"name": "data", "mountPath": "/data"}])
    poddefault(store, "two", volumeMounts=[{"name": "other", "mountPath": "/data"}])
    message = refusal(store)
    assert 'merging volume mounts for two has a conflict on mount path /data: \nv1.VolumeMount{Name:"other"' in message


def test_tolerations_by_key_and_image_pull_secrets_by_name(store: Store) -> None:
    toleration = {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
    poddefault(store, "one", tolerations=[toleration], imagePullSecrets=[{"name": "registry"}])
    poddefault(store, "two", tolerations=[toleration], imagePullSecrets=[{"name": "registry"}])
    created = pod(store)
    assert [t.get("key") for t in created["spec"]["tolerations"]].count("gpu") == 1
    assert created["spec"]["imagePullSecrets"] == [{"name": "registry"}]
    store.delete(store.catalog.lookup("", "v1", "pods"), "team", "nb-0")
    poddefault(store, "three", tolerations=[{**toleration, "effect": "NoExecute"}])
    assert 'merging tolerations for three has a conflict on gpu: \nv1.Toleration{Key:"gpu"' in refusal(store)


def test_annotations_and_labels_merge_as_maps_and_conflict_in_pod(store: Store) -> None:
    poddefault(store, "one", labels={"team": "qa"}, annotations={"note": "x"})
    created = pod(store)
    assert created["metadata"]["labels"]["team"] == "qa" and created["metadata"]["annotations"]["note"] == "x"
    store.delete(store.catalog.lookup("", "v1", "pods"), "team", "nb-0")
    poddefault(store, "two", labels={"team": "dev"})
    assert 'merging has conflict on team: \n"dev"\ndoes not match\n"qa"\n in pod' in refusal(store)


def test_service_account_settings_are_overwritten_by_the_last_poddefault(store: Store) -> None:
    poddefault(store, "a", serviceAccountName="first", automountServiceAccountToken=True)
    poddefault(store, "b", serviceAccountName="second", automountServiceAccountToken=False)
    created = pod(store)
    assert (created["spec"]["serviceAccountName"], created["spec"]["automountServiceAccountToken"]) == ("second", False)


def test_command_and_args_only_where_the_container_has_none_and_never_on_istio_proxy(store: Store) -> None:
    poddefault(store, "a", command=["jupyter"], args=["lab"])
    poddefault(store, "b", command=["other"])
    containers = [
        {"name": "notebook", "image": "i:1"},
        {"name": "own", "image": "i:1", "command": ["mine"]},
        {"name": "istio-proxy", "image": "proxy:1"},
    ]
    made = pod(store, containers=containers)["spec"]["containers"]
    assert (made[0]["command"], made[0]["args"]) == (["jupyter"], ["lab"])
    assert (made[1]["command"], made[1]["args"]) == (["mine"], ["lab"])
    assert "command" not in made[2] and "args" not in made[2]


def test_sidecars_and_init_containers_are_added_defaulted_and_get_no_injected_env(store: Store) -> None:
    sidecar = {"name": "proxy", "image": "proxy:1"}
    poddefault(store, "a", sidecars=[sidecar], initContainers=[{"name": "setup", "image": "setup:1"}])
    poddefault(store, "b", env=[{"name": "A", "value": "1"}])
    created = pod(store)
    names = [c["name"] for c in created["spec"]["containers"]]
    assert names == ["notebook", "proxy"]
    assert "env" not in created["spec"]["containers"][1]
    assert created["spec"]["initContainers"][0]["name"] == "setup"
    assert created["spec"]["containers"][1]["terminationMessagePath"] == "/dev/termination-log", "defaulted again"


def test_several_conflicts_are_one_bracketed_list_each_once() -> None:
    assert aggregate(["a", "b", "a"]) == "[a, b]"
    assert aggregate(["a", "a"]) == "a"


def test_a_pod_update_is_never_mutated(store: Store) -> None:
    created = pod(store, labels={})
    poddefault(store, "everyone", selector={}, env=[{"name": "A", "value": "1"}])
    created["metadata"]["labels"] = {"changed": "yes"}
    updated = store.replace(store.catalog.lookup("", "v1", "pods"), created, namespace="team")
    assert env_of(updated) == {}
