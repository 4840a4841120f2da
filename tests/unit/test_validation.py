"""Validation: 422s worded exactly as the real API server words them, and admit() on create and update."""

from __future__ import annotations

from typing import Any

import pytest

from kfval.embedded import quantities
from kfval.embedded.admission import validation
from kfval.embedded.admission.chain import Admission, AdmissionRequest
from kfval.embedded.clock import SystemClock
from kfval.embedded.errors import BadRequestError, Cause, ForbiddenError, InvalidError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ResourceType

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end "
    "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def _type(resource: str, api_version: str = "v1") -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return Catalog().lookup(group, version, resource)


def _refusal(resource: str, body: Body, api_version: str = "v1") -> InvalidError:
    with pytest.raises(InvalidError) as caught:
        Admission().admit(_type(resource, api_version), body, operation="CREATE", old=None, namespace="team")
    return caught.value


def _pod(*containers: Body, **spec: Any) -> Body:
    return {"metadata": {"name": "bad"}, "spec": {"containers": list(containers), **spec}}


def _fields(error: InvalidError) -> list[str]:
    return [f"{c.field}: {c.message}" for c in error.causes]


def test_missing_image_reads_as_kubectl_prints_it() -> None:
    error = _refusal("pods", _pod({"name": "c"}))
    assert error.message == 'Pod "bad" is invalid: spec.containers[0].image: Required value'
    assert error.causes == [Cause("FieldValueRequired", "Required value", "spec.containers[0].image")]
    assert error.details == {
        "name": "bad",
        "group": "",
        "kind": "Pod",
        "causes": [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}],
    }


def test_pod_needs_containers() -> None:
    assert _fields(_refusal("pods", _pod())) == ["spec.containers: Required value"]


def test_object_name_must_be_a_subdomain() -> None:
    error = _refusal("pods", {"metadata": {"name": "Bad_Name"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    assert _fields(error) == [f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MESSAGE}']


def test_namespace_name_must_be_a_label_and_service_name_a_dns1035_label() -> None:
    assert _fields(_refusal("namespaces", {"metadata": {"name": "a.b"}})) == [
        f'metadata.name: Invalid value: "a.b": {LABEL_MESSAGE}'
    ]
    error = _refusal("services", {"metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}})
    assert _fields(error) == [
        'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters '
        "or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
        "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    ]


def test_missing_name_is_required() -> None:
    error = _refusal("configmaps", {"metadata": {}})
    assert _fields(error) == ["metadata.name: Required value: name or generateName is required"]


def test_container_names_are_required_valid_and_unique() -> None:
    error = _refusal(
        "pods",
        _pod({"image": "x"}, {"name": "Web", "image": "x"}, {"name": "a", "image": "x"}, {"name": "a", "image": "x"}),
    )
    assert _fields(error) == [
        "spec.containers[0].name: Required value",
        f'spec.containers[1].name: Invalid value: "Web": {LABEL_MESSAGE}',
        'spec.containers[3].name: Duplicate value: "a"',
    ]


def test_restart_policy_lists_supported_values() -> None:
    error = _refusal("pods", _pod({"name": "c", "image": "x"}, restartPolicy="Sometimes"))
    assert _fields(error) == [
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
    ]


def test_ports_out_of_range_and_bad_protocol() -> None:
    ports = [{"containerPort": 70000}, {"containerPort": 80, "protocol": "HTTP", "name": "web--1"}]
    error = _refusal("pods", _pod({"name": "c", "image": "x", "ports": ports}))
    assert _fields(error) == [
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.containers[0].ports[1].name: Invalid value: "web--1": must not contain consecutive hyphens',
        'spec.containers[0].ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    ]


def test_env_names() -> None:
    env = [{"name": "A=B", "value": "x"}, {"name": "", "value": "y"}]
    error = _refusal("pods", _pod({"name": "c", "image": "x", "env": env}))
    assert _fields(error) == [
        'spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only '
        "of printable ASCII characters other than '='",
        "spec.containers[0].env[1].name: Required value",
        'spec.containers[0].env[1].name: Invalid value: "": environment variable name must be non-empty',
    ]


def test_volume_names_unique_and_mounts_must_name_a_volume() -> None:
    volumes = [{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}]
    mounts = [{"name": "x", "mountPath": "/x"}, {"name": "data", "mountPath": "/data"}]
    error = _refusal("pods", _pod({"name": "c", "image": "x", "volumeMounts": mounts}, volumes=volumes))
    assert _fields(error) == [
        'spec.volumes[1].name: Duplicate value: "data"',
        'spec.containers[0].volumeMounts[0].name: Not found: "x"',
    ]


def test_volume_with_two_sources_is_forbidden() -> None:
    volumes = [{"name": "v", "emptyDir": {}, "configMap": {"name": "c"}}]
    error = _refusal("pods", _pod({"name": "c", "image": "x"}, volumes=volumes))
    assert _fields(error) == ["spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type"]


def test_requests_must_not_exceed_limits() -> None:
    resources = {"requests": {"cpu": "2", "memory": "0.5Gi"}, "limits": {"cpu": "1500m", "memory": "1Gi"}}
    error = _refusal("pods", _pod({"name": "c", "image": "x", "resources": resources}))
    assert _fields(error) == [
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1500m'
    ]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("0.5", "500m"), ("1000", "1k"), ("1500", "1500"), ("1024Mi", "1Gi"), ("1.2Gi", "1288490188800m"), ("2", "2")],
)
def test_quantities_print_canonically(text: str, canonical: str) -> None:
    assert quantities.canonical(text) == canonical


def test_deployment_without_selector_gets_both_real_errors() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    error = _refusal("deployments", {"metadata": {"name": "web"}, "spec": {"template": template}}, "apps/v1")
    assert error.message == (
        'Deployment.apps "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: '
        'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`]'
    )
    assert error.details is not None
    assert error.details["group"] == "apps"


def test_deployment_selector_mismatch_empty_selector_and_negative_replicas() -> None:
    template = {
        "metadata": {"labels": {"app": "web", "tier": "x"}},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    spec = {"replicas": -1, "selector": {"matchLabels": {"app": "api"}}, "template": template}
    assert _fields(_refusal("deployments", {"metadata": {"name": "web"}, "spec": spec}, "apps/v1")) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web", "tier":"x"}: '
        "`selector` does not match template `labels`",
    ]
    spec = {"selector": {}, "template": template}
    assert _fields(_refusal("statefulsets", {"metadata": {"name": "db"}, "spec": spec}, "apps/v1")) == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset"
    ]


def test_deployment_template_must_restart_always() -> None:
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]},
    }
    spec = {"selector": {"matchLabels": {"app": "web"}}, "template": template}
    assert _fields(_refusal("deployments", {"metadata": {"name": "web"}, "spec": spec}, "apps/v1")) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
    ]


def test_job_template_restart_policy() -> None:
    template: Body = {"spec": {"containers": [{"name": "c", "image": "x"}]}}
    error = _refusal("jobs", {"metadata": {"name": "pi"}, "spec": {"template": template}}, "batch/v1")
    assert _fields(error) == ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']
    template["spec"]["restartPolicy"] = "Sometimes"
    error = _refusal("jobs", {"metadata": {"name": "pi"}, "spec": {"template": template}}, "batch/v1")
    assert _fields(error) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", '
        '"Never"',
        'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "OnFailure", "Never"',
    ]


def test_service_ports_required_unless_headless_and_in_range() -> None:
    assert _fields(_refusal("services", {"metadata": {"name": "web"}, "spec": {}})) == ["spec.ports: Required value"]
    headless = {"metadata": {"name": "web"}, "spec": {"clusterIP": "None"}}
    assert Admission().admit(_type("services"), headless, operation="CREATE", old=None, namespace="team")
    ports = [{"port": 0, "name": "a"}, {"port": 80, "targetPort": "Web"}]
    assert _fields(_refusal("services", {"metadata": {"name": "web"}, "spec": {"ports": ports}})) == [
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.ports[1].name: Required value",
        'spec.ports[1].targetPort: Invalid value: "Web": '
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
    ]


def test_service_cannot_take_a_taken_address() -> None:
    admission = Admission()
    rt = _type("services")
    first = {"metadata": {"name": "a"}, "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 53}]}}
    admission.admit(rt, first, operation="CREATE", old=None, namespace="team")
    second = {"metadata": {"name": "b"}, "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 53}]}}
    with pytest.raises(InvalidError) as caught:
        admission.admit(rt, second, operation="CREATE", old=None, namespace="team")
    assert _fields(caught.value) == [
        'spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: '
        "provided IP is already allocated"
    ]


def test_configmap_and_secret_keys() -> None:
    error = _refusal("configmaps", {"metadata": {"name": "c"}, "data": {"bad key": "x", "..": "y"}})
    assert _fields(error) == [
        "data[..]: Invalid value: \"..\": must not be '..'",
        'data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '
        "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
        "'[-._a-zA-Z0-9]+')",
    ]
    error = _refusal("secrets", {"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}})
    assert _fields(error) == ["data[tls.key]: Required value"]


def test_label_values_are_checked() -> None:
    error = _refusal("configmaps", {"metadata": {"name": "c", "labels": {"app": "a b"}}})
    assert _fields(error)[0].startswith('metadata.labels: Invalid value: "a b": a valid label must be an empty string')


def test_rbac_names_may_contain_colons() -> None:
    role = {"metadata": {"name": "system:controller:x"}, "rules": []}
    admitted = Admission().admit(
        _type("clusterroles", "rbac.authorization.k8s.io/v1"), role, operation="CREATE", old=None
    )
    assert admitted["metadata"]["name"] == "system:controller:x"
    assert validation.path_segment_errors("a/b") == ["may not contain '/'"]


def test_namespace_in_body_must_match_the_request() -> None:
    body = {"metadata": {"name": "c", "namespace": "other"}}
    with pytest.raises(BadRequestError):
        Admission().admit(_type("configmaps"), body, operation="CREATE", old=None, namespace="team")


# -- admit() on update, through a real store --------------------------------------------------------


def _store_with_pod() -> tuple[Store, Admission, ResourceType, Body]:
    catalog = Catalog()
    store = Store(catalog, SystemClock())
    admission = Admission()
    ns_type = catalog.lookup("", "v1", "namespaces")
    store.create(ns_type, admission.admit(ns_type, {"metadata": {"name": "team"}}, operation="CREATE", old=None))
    rt = catalog.lookup("", "v1", "pods")
    pod = admission.admit(rt, _pod({"name": "c", "image": "x:1"}), operation="CREATE", old=None, namespace="team")
    stored = store.create(rt, pod, namespace="team")
    return store, admission, rt, stored


def test_pod_update_may_change_the_image_and_labels() -> None:
    store, admission, rt, stored = _store_with_pod()
    changed = dict(stored, metadata={**stored["metadata"], "labels": {"a": "b"}})
    changed["spec"] = {**stored["spec"], "containers": [{**stored["spec"]["containers"][0], "image": "x:2"}]}
    admitted = admission.admit(rt, changed, operation="UPDATE", old=stored, namespace="team")
    replaced = store.replace(rt, admitted, namespace="team")
    assert replaced["spec"]["containers"][0]["image"] == "x:2"
    assert replaced["metadata"]["labels"] == {"a": "b"}


def test_pod_update_may_not_change_other_fields() -> None:
    _store, admission, rt, stored = _store_with_pod()
    changed = dict(stored, spec={**stored["spec"], "restartPolicy": "Never"})
    with pytest.raises(InvalidError) as caught:
        admission.admit(rt, changed, operation="UPDATE", old=stored, namespace="team")
    assert caught.value.causes == [
        Cause(
            "FieldValueForbidden",
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
            "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
            "previously negative)",
            "spec",
        )
    ]


def test_service_update_keeps_its_cluster_ip() -> None:
    admission = Admission()
    rt = _type("services")
    created = admission.admit(
        rt,
        {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}},
        operation="CREATE",
        old=None,
        namespace="team",
    )
    update = {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 81}]}}
    updated = admission.admit(rt, update, operation="UPDATE", old=created, namespace="team")
    assert updated["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    moved = {"metadata": {"name": "web"}, "spec": {"clusterIP": "10.96.9.9", "ports": [{"port": 81}]}}
    with pytest.raises(InvalidError) as caught:
        admission.admit(rt, moved, operation="UPDATE", old=created, namespace="team")
    assert _fields(caught.value) == ['spec.clusterIPs[0]: Invalid value: "10.96.9.9": may not change once set']


def test_namespace_update_keeps_its_finalizers() -> None:
    admission = Admission()
    rt = _type("namespaces")
    created = admission.admit(rt, {"metadata": {"name": "team"}}, operation="CREATE", old=None)
    updated = admission.admit(rt, {"metadata": {"name": "team"}, "spec": {}}, operation="UPDATE", old=created)
    assert updated["spec"]["finalizers"] == ["kubernetes"]


# -- the extension point ---------------------------------------------------------------------------


class _LabelPods:
    def mutate(self, request: AdmissionRequest) -> Body | None:
        if request.rt.kind != "Pod" or request.operation != "CREATE":
            return None
        body = dict(request.object)
        body["metadata"] = {**body["metadata"], "labels": {"mutated": "true"}}
        body["spec"] = {**body["spec"], "containers": [*body["spec"]["containers"], {"name": "side", "image": "s"}]}
        return body


class _RefuseNamed:
    def validate(self, request: AdmissionRequest) -> None:
        if request.object["metadata"]["name"] == "refused":
            raise ForbiddenError("refused by policy")


def test_mutators_and_validators_run_after_the_built_in_steps() -> None:
    admission = Admission(mutators=[_LabelPods()], validators=[_RefuseNamed()])
    rt = _type("pods")
    pod = admission.admit(rt, _pod({"name": "c", "image": "x"}), operation="CREATE", old=None, namespace="team")
    assert pod["metadata"]["labels"] == {"mutated": "true"}
    sidecar = pod["spec"]["containers"][1]
    assert sidecar["terminationMessagePath"] == "/dev/termination-log"
    with pytest.raises(ForbiddenError):
        admission.admit(
            rt,
            {**_pod({"name": "c", "image": "x"}), "metadata": {"name": "refused"}},
            operation="CREATE",
            old=None,
            namespace="team",
        )


def test_pod_stored_without_defaults_can_still_be_relabelled() -> None:
    catalog = Catalog()
    store = Store(catalog, SystemClock())
    store.create(catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "team"}})
    rt = catalog.lookup("", "v1", "pods")
    stored = store.create(rt, _pod({"name": "c", "image": "x:1"}), namespace="team")
    relabelled = dict(stored, metadata={**stored["metadata"], "labels": {"a": "b"}})
    admitted = Admission().admit(rt, relabelled, operation="UPDATE", old=stored, namespace="team")
    assert admitted["metadata"]["labels"] == {"a": "b"}
