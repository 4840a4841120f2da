"""Bad requests get the Status a real API server sends: 400, 401, 404 and 413, never a hang or a 500."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest
import yaml

from kfval.embedded import launch

pytestmark = pytest.mark.integration


def send(
    cluster: launch.ClusterInfo,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    token: str | None = "valid",
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": content_type}
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    if token == "valid":
        token = config["users"][0]["user"]["token"]
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(cluster.server + path, data=body, method=method, headers=headers)
    try:
        ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
        context = ssl.create_default_context(cadata=ca)
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def assert_status(reply: tuple[int, dict[str, Any]], code: int, reason: str) -> dict[str, Any]:
    status, body = reply
    assert status == code, body
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason, body
    return body


def test_malformed_json_is_a_400(cluster: launch.ClusterInfo) -> None:
    reply = send(cluster, "POST", "/api/v1/namespaces/default/configmaps", b'{"metadata": {"name": ')
    assert_status(reply, 400, "BadRequest")


def test_malformed_yaml_apply_is_a_400(cluster: launch.ClusterInfo) -> None:
    reply = send(
        cluster,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x?fieldManager=t",
        b"a: [unclosed\n b: :",
        content_type="application/apply-patch+yaml",
    )
    assert_status(reply, 400, "BadRequest")


def test_unknown_resource_is_a_404(cluster: launch.ClusterInfo) -> None:
    body = assert_status(send(cluster, "GET", "/api/v1/namespaces/default/gizmos"), 404, "NotFound")
    assert body["message"] == "the server could not find the requested resource"
    assert_status(send(cluster, "GET", "/apis/nothing.example/v1/things"), 404, "NotFound")


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_missing_or_wrong_token_is_a_401(cluster: launch.ClusterInfo, token: str | None) -> None:
    assert_status(send(cluster, "GET", "/api/v1/pods", token=token), 401, "Unauthorized")


def test_body_over_the_size_limit_is_a_413(cluster: launch.ClusterInfo) -> None:
    big = {"metadata": {"name": "huge"}, "data": {"blob": "x" * (4 * 1024 * 1024)}}
    reply = send(cluster, "POST", "/api/v1/namespaces/default/configmaps", json.dumps(big).encode())
    assert_status(reply, 413, "RequestEntityTooLarge")
