"""The protobuf decoder against bytes laid out as Go's generated marshallers lay them out."""

from __future__ import annotations

import base64

import pytest

from kfval.embedded.apiserver import protobuf
from kfval.embedded.errors import BadRequestError, UnsupportedMediaError


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, payload: bytes | int | str) -> bytes:
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: bytes | str) -> bytes:
    return field(number, field(1, key) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return protobuf.MAGIC + field(1, type_meta) + field(2, raw) + field(3, "") + field(4, "")


def test_namespace_as_kubectl_create_sends_it() -> None:
    meta = field(1, "kf-a") + field(8, field(1, 0)) + entry(11, "team", "ml")
    body = protobuf.decode(envelope("v1", "Namespace", field(1, meta) + field(2, b"") + field(3, b"")))
    assert body == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kf-a", "labels": {"team": "ml"}}}


def test_secret_data_is_base64_and_string_data_is_text() -> None:
    raw = field(1, field(1, "creds") + field(3, "ns1")) + entry(2, "password", b"\x00s3cret") + field(3, "Opaque")
    raw += entry(4, "user", "admin")
    body = protobuf.decode(envelope("v1", "Secret", raw))
    assert body["data"] == {"password": base64.b64encode(b"\x00s3cret").decode()}
    assert body["stringData"] == {"user": "admin"}
    assert body["type"] == "Opaque"
    assert body["metadata"] == {"name": "creds", "namespace": "ns1"}


def test_configmap_with_timestamps_owner_and_managed_fields() -> None:
    owner = field(1, "Deployment") + field(3, "web") + field(4, "u-1") + field(5, "apps/v1") + field(6, 1)
    managed = field(1, "helm") + field(2, "Apply") + field(7, field(1, b'{"f:data":{}}'))
    meta = field(1, "cfg") + field(7, 3) + field(8, field(1, 1_700_000_000)) + field(13, owner) + field(17, managed)
    body = protobuf.decode(envelope("v1", "ConfigMap", field(1, meta) + entry(2, "a", "1") + field(4, 1)))
    assert body["data"] == {"a": "1"}
    assert body["immutable"] is True
    assert body["metadata"]["generation"] == 3
    assert body["metadata"]["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert body["metadata"]["ownerReferences"] == [
        {"kind": "Deployment", "name": "web", "uid": "u-1", "apiVersion": "apps/v1", "controller": True}
    ]
    assert body["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {}}


def test_delete_options_with_negative_and_large_values() -> None:
    raw = field(1, -1) + field(4, "Foreground") + field(2, field(1, "uid-9")) + field(5, "All")
    body = protobuf.decode(envelope("v1", "DeleteOptions", raw))
    assert body["gracePeriodSeconds"] == -1
    assert body["propagationPolicy"] == "Foreground"
    assert body["preconditions"] == {"uid": "uid-9"}
    assert body["dryRun"] == ["All"]


def test_access_review_attributes() -> None:
    attrs = field(1, "ns") + field(2, "create") + field(5, "pods")
    body = protobuf.decode(envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", field(2, field(1, attrs))))
    assert body["spec"]["resourceAttributes"] == {"namespace": "ns", "verb": "create", "resource": "pods"}


def test_bad_magic_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError, match="magic"):
        protobuf.decode(b"{}")


def test_truncated_body_is_a_bad_request() -> None:
    good = envelope("v1", "Namespace", field(1, field(1, "x")))
    with pytest.raises(BadRequestError, match="truncated"):
        protobuf.decode(good[:12])


def test_kind_without_a_table_is_unsupported_media() -> None:
    with pytest.raises(UnsupportedMediaError, match="Ingress"):
        protobuf.decode(envelope("networking.k8s.io/v1", "Ingress", b""))


def test_deployment_service_and_token_request_decode_from_protobuf() -> None:
    int_or_str = field(1, 1) + field(3, "25%")
    strategy = field(1, "RollingUpdate") + field(2, field(1, int_or_str) + field(2, field(2, 1)))
    quantity = field(1, field(1, "cpu") + field(2, field(1, "500m")))
    container = field(1, "web") + field(2, "busybox") + field(3, "sleep") + field(8, quantity) + field(16, 0)
    pod_spec = field(2, container) + field(11, 0)
    template = field(1, field(1, "") + field(8, field(1, 0))) + field(2, pod_spec)
    spec = field(1, 0) + field(2, field(1, field(1, "app") + field(2, "web"))) + field(3, template)
    spec += field(4, strategy) + field(7, 0)
    body = protobuf.decode(envelope("apps/v1", "Deployment", field(1, field(1, "web")) + field(2, spec)))
    assert body["spec"]["replicas"] == 0
    assert body["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert body["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1},
    }
    assert body["spec"]["template"] == {
        "spec": {
            "containers": [
                {"name": "web", "image": "busybox", "command": ["sleep"], "resources": {"limits": {"cpu": "500m"}}}
            ]
        }
    }
    assert "paused" not in body["spec"]
    volume = field(1, "cfg") + field(2, field(19, field(1, field(1, "settings")) + field(4, 1)))
    job = protobuf.decode(envelope("batch/v1", "Job", field(2, field(6, field(2, field(1, volume))))))
    assert job["spec"]["template"]["spec"]["volumes"] == [
        {"name": "cfg", "configMap": {"name": "settings", "optional": True}}
    ]
    token = protobuf.decode(
        envelope("authentication.k8s.io/v1", "TokenRequest", field(2, field(1, "api") + field(4, 600)))
    )
    assert token["spec"] == {"audiences": ["api"], "expirationSeconds": 600}
