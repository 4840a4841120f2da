"""Defaulting: the fields a real API server adds, per kind and inside nested pod templates."""

from __future__ import annotations

from typing import Any

import pytest

from kfval.embedded.admission import defaulting, workloaddefaulting
from kfval.embedded.admission.chain import Admission, ClusterIPAllocator
from kfval.embedded.clock import SystemClock
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ResourceType, WatchEvent

CONTAINER = {"name": "main", "image": "busybox:1.36"}


def _type(resource: str, api_version: str = "v1") -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return Catalog().lookup(group, version, resource)


def _admit(resource: str, body: Body, api_version: str = "v1", **kwargs: Any) -> Body:
    admission = kwargs.pop("admission", None) or Admission()
    return admission.admit(_type(resource, api_version), body, operation="CREATE", old=None, namespace="team", **kwargs)


def _template(**spec: Any) -> Body:
    return {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [dict(CONTAINER)], **spec}}


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("registry:5000/team/busybox", "Always"),
        ("busybox:1.36", "IfNotPresent"),
        ("registry:5000/busybox:1.36", "IfNotPresent"),
        ("busybox@sha256:abc", "IfNotPresent"),
    ],
)
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    assert workloaddefaulting.image_pull_policy(image) == policy


def test_pod_gets_scheme_and_admission_plugin_defaults() -> None:
    pod = _admit("pods", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["securityContext"] == {}
    assert spec["enableServiceLinks"] is True
    assert spec["priority"] == 0
    assert [(t["key"], t["tolerationSeconds"]) for t in spec["tolerations"]] == [
        ("node.kubernetes.io/not-ready", 300),
        ("node.kubernetes.io/unreachable", 300),
    ]
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["resources"] == {}
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_pod_ports_probes_volumes_and_env_are_defaulted() -> None:
    container = {
        "name": "c",
        "image": "x:1",
        "ports": [{"containerPort": 80}],
        "readinessProbe": {"httpGet": {"port": 80}},
        "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
    }
    volumes = [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "cfg"}}]
    pod = _admit("pods", {"metadata": {"name": "p"}, "spec": {"containers": [container], "volumes": volumes}})
    got = pod["spec"]["containers"][0]
    assert got["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert got["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert got["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert got["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert pod["spec"]["volumes"] == [
        {"name": "scratch", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}},
    ]
    assert pod["status"]["qosClass"] == "Guaranteed"


def test_pod_keeps_its_own_tolerations_and_service_account() -> None:
    spec = {
        "containers": [dict(CONTAINER)],
        "serviceAccountName": "runner",
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}],
    }
    pod = _admit("pods", {"metadata": {"name": "p"}, "spec": spec})
    assert pod["spec"]["serviceAccount"] == "runner"
    keys = [t["key"] for t in pod["spec"]["tolerations"]]
    assert keys == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    assert "tolerationSeconds" not in pod["spec"]["tolerations"][0]


def test_deployment_defaults_and_its_template() -> None:
    body = {"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": _template()}}
    deployment = _admit("deployments", body, "apps/v1")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    template_spec = spec["template"]["spec"]
    assert template_spec["restartPolicy"] == "Always"
    assert template_spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "serviceAccountName" not in template_spec
    assert "enableServiceLinks" not in template_spec
    assert "tolerations" not in template_spec


def test_deployment_keeps_explicit_zero_replicas_and_recreate() -> None:
    spec = {"replicas": 0, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": {"app": "web"}}}
    deployment = _admit(
        "deployments", {"metadata": {"name": "web"}, "spec": {**spec, "template": _template()}}, "apps/v1"
    )
    assert deployment["spec"]["replicas"] == 0
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_replicaset_statefulset_and_daemonset_defaults() -> None:
    selector = {"matchLabels": {"app": "web"}}
    rs = _admit(
        "replicasets", {"metadata": {"name": "r"}, "spec": {"selector": selector, "template": _template()}}, "apps/v1"
    )
    assert rs["spec"]["replicas"] == 1
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    sts_spec = {"selector": selector, "template": _template(), "volumeClaimTemplates": [claim]}
    sts = _admit("statefulsets", {"metadata": {"name": "s"}, "spec": sts_spec}, "apps/v1")["spec"]
    assert sts["podManagementPolicy"] == "OrderedReady"
    assert sts["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert sts["revisionHistoryLimit"] == 10
    assert sts["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    assert sts["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    ds = _admit(
        "daemonsets", {"metadata": {"name": "d"}, "spec": {"selector": selector, "template": _template()}}, "apps/v1"
    )
    assert ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert ds["spec"]["template"]["spec"]["schedulerName"] == "default-scheduler"


def test_job_gets_defaults_and_a_generated_selector_from_its_uid() -> None:
    body = {"metadata": {"name": "pi"}, "spec": {"template": _template(restartPolicy="Never")}}
    job = _admit("jobs", body, "batch/v1")
    uid = job["metadata"]["uid"]
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["completions"], spec["parallelism"]) == (6, 1, 1)
    assert spec["completionMode"] == "NonIndexed"
    assert spec["suspend"] is False
    assert "manualSelector" not in spec
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert spec["template"]["metadata"]["labels"] == {
        "app": "web",
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid,
        "job-name": "pi",
    }
    assert spec["template"]["spec"]["containers"][0]["terminationMessagePolicy"] == "File"


def test_job_with_parallelism_only_leaves_completions_unset() -> None:
    body = {"metadata": {"name": "pi"}, "spec": {"parallelism": 3, "template": _template(restartPolicy="Never")}}
    job = _admit("jobs", body, "batch/v1")
    assert job["spec"]["parallelism"] == 3
    assert "completions" not in job["spec"]


def test_cronjob_defaults_reach_the_nested_pod_template() -> None:
    job_template = {"spec": {"template": _template(restartPolicy="OnFailure")}}
    body = {"metadata": {"name": "tick"}, "spec": {"schedule": "* * * * *", "jobTemplate": job_template}}
    cronjob = _admit("cronjobs", body, "batch/v1")["spec"]
    assert cronjob["concurrencyPolicy"] == "Allow"
    assert (cronjob["successfulJobsHistoryLimit"], cronjob["failedJobsHistoryLimit"]) == (3, 1)
    assert cronjob["suspend"] is False
    nested = cronjob["jobTemplate"]["spec"]["template"]["spec"]
    assert nested["terminationGracePeriodSeconds"] == 30
    assert nested["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_service_defaults_and_cluster_ip_allocation() -> None:
    body = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 8080}]}}
    spec = _admit("services", body)["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 8080, "protocol": "TCP", "targetPort": 8080}]
    assert spec["clusterIP"].startswith("10.96.")
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"


def test_headless_service_stays_headless() -> None:
    body = {"metadata": {"name": "web"}, "spec": {"clusterIP": "None", "selector": {"app": "web"}}}
    spec = _admit("services", body)["spec"]
    assert spec["clusterIP"] == "None"
    assert spec["clusterIPs"] == ["None"]
    assert spec["ipFamilyPolicy"] == "SingleStack"


def test_allocator_hands_out_distinct_addresses_and_takes_them_back() -> None:
    allocator = ClusterIPAllocator()
    first, second = allocator.allocate(), allocator.allocate()
    assert first != second
    assert allocator.reserve(first) == "provided IP is already allocated"
    deleted = {"metadata": {"name": "web"}, "spec": {"clusterIPs": [first]}}
    rt = _type("services")
    allocator.observe(WatchEvent("DELETED", deleted, 7, rt.key))
    assert allocator.reserve(first) is None
    assert allocator.reserve("10.0.0.1") == (
        "the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/16"
    )


def test_namespace_secret_and_pvc_defaults() -> None:
    namespace = _admit("namespaces", {"metadata": {"name": "team"}})
    assert namespace["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert namespace["spec"] == {"finalizers": ["kubernetes"]}
    assert namespace["status"] == {"phase": "Active"}
    secret = _admit("secrets", {"metadata": {"name": "s"}, "stringData": {"token": "abc"}})
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"token": "YWJj"}
    assert "stringData" not in secret
    claim = _admit("persistentvolumeclaims", {"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"]}})
    assert claim["spec"]["volumeMode"] == "Filesystem"


def test_configmap_gets_no_defaults() -> None:
    body = {"metadata": {"name": "c"}, "data": {"k": "v"}}
    assert _admit("configmaps", body)["data"] == {"k": "v"}


def test_custom_resource_gets_its_schema_defaults_where_the_parent_exists() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "runPolicy": {"type": "object", "properties": {"suspend": {"type": "boolean", "default": False}}}
                },
            }
        },
    }
    with_policy: Body = {"spec": {"runPolicy": {}}}
    defaulting.apply_schema_defaults(with_policy, schema)
    assert with_policy == {"spec": {"runPolicy": {"suspend": False}}}
    without_policy: Body = {"spec": {}}
    defaulting.apply_schema_defaults(without_policy, schema)
    assert without_policy == {"spec": {}}


def test_generated_names_and_uid_reach_the_store() -> None:
    catalog = Catalog()
    store = Store(catalog, SystemClock())
    store.create(catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "team"}})
    admission = Admission()
    store.admission = admission
    rt = catalog.lookup("batch", "v1", "jobs")
    body = {"metadata": {"generateName": "pi-"}, "spec": {"template": _template(restartPolicy="Never")}}
    stored = store.create(rt, body, namespace="team")
    assert stored["metadata"]["name"].startswith("pi-")
    assert stored["spec"]["selector"]["matchLabels"] == {
        "batch.kubernetes.io/controller-uid": stored["metadata"]["uid"]
    }


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ({"requests": {"cpu": "0.5", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "1024Mi"}}, "Guaranteed"),
        ({"requests": {"cpu": "250m"}, "limits": {"cpu": "500m", "memory": "1Gi"}}, "Burstable"),
        ({"requests": {"cpu": "250m"}}, "Burstable"),
    ],
)
def test_qos_class_compares_quantities_by_value(resources: Body, qos: str) -> None:
    container = {"name": "c", "image": "x:1", "resources": resources}
    pod = _admit("pods", {"metadata": {"name": "p"}, "spec": {"containers": [container]}})
    assert pod["status"]["qosClass"] == qos
