"""What an in-cluster client finds in every pod: the API access volume, the cluster's CA beside it,
the API server's address in its environment, and a serving certificate that names that address."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509

from kfval.embedded import certificates
from kfval.embedded.admission import serviceaccounttoken
from kfval.embedded.admission.chain import Admission
from kfval.embedded.clock import SystemClock
from kfval.embedded.controllers.rootcacertpublisher import RootCACertPublisher
from kfval.embedded.kubelet import environment
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body
from tests.support.cluster import running
from tests.support.loop import on_loop
from tests.support.polling import eventually

NS = "team"
MOUNT = {"name": "", "readOnly": True, "mountPath": serviceaccounttoken.MOUNT_PATH}


@pytest.fixture
def store() -> Store:
    made = Store(Catalog(), SystemClock())
    made.admission = Admission(mutators=[serviceaccounttoken.ServiceAccountTokenVolume(made)])
    made.create(made.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": NS}})
    return made


def _create_pod(store: Store, spec: Body) -> Body:
    pod = {"metadata": {"name": "p"}, "spec": spec}
    return store.create(store.catalog.lookup("", "v1", "pods"), pod, namespace=NS)


def test_every_container_mounts_the_api_access_volume(store: Store) -> None:
    spec = {"initContainers": [{"name": "init", "image": "busybox"}], "containers": [{"name": "main", "image": "x"}]}
    pod = _create_pod(store, spec)["spec"]
    [volume] = pod["volumes"]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == len("kube-api-access-") + 5
    assert volume == serviceaccounttoken.api_access_volume(volume["name"])
    for container in (*pod["initContainers"], *pod["containers"]):
        assert container["volumeMounts"] == [{**MOUNT, "name": volume["name"]}]


def test_no_volume_when_the_pod_or_its_account_opts_out(store: Store) -> None:
    accounts = store.catalog.lookup("", "v1", "serviceaccounts")
    store.create(accounts, {"metadata": {"name": "quiet"}, "automountServiceAccountToken": False}, namespace=NS)
    pods = store.catalog.lookup("", "v1", "pods")
    opted_out = _create_pod(store, {"automountServiceAccountToken": False, "containers": [{"name": "m", "image": "x"}]})
    assert "volumes" not in opted_out["spec"]
    store.delete(pods, NS, "p")
    quiet = _create_pod(store, {"serviceAccountName": "quiet", "containers": [{"name": "m", "image": "x"}]})
    assert "volumes" not in quiet["spec"]


def test_a_container_that_mounts_the_path_itself_keeps_its_own(store: Store) -> None:
    own = {"name": "mine", "mountPath": serviceaccounttoken.MOUNT_PATH}
    spec = {
        "volumes": [{"name": "mine", "emptyDir": {}}],
        "containers": [{"name": "m", "image": "x", "volumeMounts": [own]}],
    }
    pod = _create_pod(store, spec)["spec"]
    assert pod["volumes"] == [{"name": "mine", "emptyDir": {}}]
    assert pod["containers"][0]["volumeMounts"] == [own]


@on_loop
async def test_every_namespace_gets_the_clusters_ca() -> None:
    async with running(lambda store, clock: RootCACertPublisher(store, clock, ca_pem="PEM")) as h:
        configmaps = h.rt("configmaps")
        h.make_namespace("team")
        found = await eventually(lambda: h.store.get(configmaps, "team", "kube-root-ca.crt"), "kube-root-ca.crt")
        assert found["data"] == {"ca.crt": "PEM"}
        found["data"] = {"ca.crt": "changed"}
        h.store.replace(configmaps, found, namespace="team")
        await eventually(
            lambda: h.store.get(configmaps, "team", "kube-root-ca.crt")["data"] == {"ca.crt": "PEM"}, "restored"
        )


def test_containers_learn_where_the_api_server_is(store: Store) -> None:
    node = environment.NodeEnvironment(api_host="10.244.7.1", api_port=40123)
    pod = {"metadata": {"name": "p", "namespace": NS}, "spec": {"containers": [{"name": "c"}]}}
    env = node.resolve_env(pod, {"name": "c"}, store=store)
    assert env["KUBERNETES_SERVICE_HOST"] == "10.244.7.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "40123"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "40123"


def test_the_serving_certificate_names_the_address_pods_dial(tmp_path: Path) -> None:
    now = SystemClock().now()
    first = certificates.ensure(tmp_path, now)
    assert certificates.ensure(tmp_path, now) == first
    widened = certificates.ensure(tmp_path, now, addresses=("10.244.7.1",))
    cert = x509.load_pem_x509_certificate(widened.cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("10.244.7.1") in names.get_values_for_type(x509.IPAddress)
    assert widened.ca_pem != first.ca_pem
