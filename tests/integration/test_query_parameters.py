"""Query parameters as kube-apiserver reads them, through the Python client and kubectl.

A boolean is true for any value but `0`/`false` in any case (older clients send `True`, `?watch` has
none); the pod log endpoint honours follow until the container ends, sinceSeconds, sinceTime,
limitBytes, tailLines, timestamps, previous and container, and refuses bad values with a 422.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client

from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

SLOW_TALKER = "echo line 1; sleep 2; echo line 2; sleep 1; echo line 3"
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ")


def _pod(name: str, script: str, *, restart: str = "Never", containers: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": restart,
            "containers": [
                {"name": f"c{i}", "image": "busybox", "command": ["sh", "-c", script.replace("{i}", str(i))]}
                for i in range(containers)
            ],
        },
    }


def _raw(api: client.ApiClient, path: str, **query: str) -> tuple[int, str]:
    """A GET with the query exactly as written, as an older client or a hand-made request sends it."""
    request = api.param_serialize("GET", path, query_params=list(query.items()), auth_settings=["BearerToken"])
    response = api.call_api(*request)
    return response.status, response.read().decode()


def _started(core: client.CoreV1Api, ns: str, name: str, line: str = "line 1") -> None:
    eventually_blocking(
        lambda: line in core.read_namespaced_pod_log(name, ns, container="c0"),
        f"{name} printed {line}",
        timeout=60,
        ignoring=(client.ApiException,),  # 400 while the container is still being created
    )


@pytest.mark.parametrize("value", ["true", "True", "1", ""])
def test_follow_streams_until_the_container_ends_for_any_true_value(api: client.ApiClient, ns: str, value: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(ns, _pod("talker", SLOW_TALKER))
    _started(core, ns, "talker")
    status, text = _raw(api, f"/api/v1/namespaces/{ns}/pods/talker/log", follow=value)
    assert (status, text) == (200, "line 1\nline 2\nline 3\n")


@pytest.mark.parametrize("value", ["false", "False", "FALSE", "0"])
def test_follow_false_answers_with_what_is_written_so_far(api: client.ApiClient, ns: str, value: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(ns, _pod("talker", SLOW_TALKER))
    _started(core, ns, "talker")
    status, text = _raw(api, f"/api/v1/namespaces/{ns}/pods/talker/log", follow=value)
    assert (status, text) == (200, "line 1\n")


def test_log_options_through_the_python_client(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(ns, _pod("counter", "for i in 1 2 3 4 5; do echo count $i; done"))
    eventually_blocking(lambda: core.read_namespaced_pod("counter", ns).status.phase == "Succeeded", "done", timeout=60)
    stamped = core.read_namespaced_pod_log("counter", ns, timestamps=True).splitlines()
    assert len(stamped) == 5 and all(RFC3339_NANO.match(line) for line in stamped), stamped
    assert core.read_namespaced_pod_log("counter", ns, tail_lines=2) == "count 4\ncount 5\n"
    assert core.read_namespaced_pod_log("counter", ns, limit_bytes=10) == "count 1\nco"
    assert core.read_namespaced_pod_log("counter", ns, since_seconds=3600).count("count") == 5
    first = datetime.fromisoformat(stamped[2].split(" ", 1)[0].replace("Z", "+00:00"))
    since = (first + timedelta(microseconds=0)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _, later = _raw(api, f"/api/v1/namespaces/{ns}/pods/counter/log", sinceTime=since, timestamps="True")
    assert all(
        datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00")) >= first for line in later.splitlines()
    )
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _raw(api, f"/api/v1/namespaces/{ns}/pods/counter/log", sinceTime=future) == (200, "")


def test_previous_and_container_select_the_instance(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    script = "echo run of c{i} at $(date +%s%N); sleep 1; exit 1"
    core.create_namespaced_pod(ns, _pod("crasher", script, restart="Always", containers=2))

    def restarted() -> bool:
        statuses = core.read_namespaced_pod("crasher", ns).status.container_statuses or []
        return any(s.name == "c1" and s.restart_count >= 1 for s in statuses)

    eventually_blocking(restarted, "c1 restarted", timeout=60)
    previous = core.read_namespaced_pod_log("crasher", ns, container="c1", previous=True)
    assert previous.startswith("run of c1 at "), previous
    assert core.read_namespaced_pod_log("crasher", ns, container="c0").startswith("run of c0")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"tailLines": "-2"}, "tailLines: Invalid value: -2: must be greater than or equal to 0"),
        ({"limitBytes": "0"}, "limitBytes: Invalid value: 0: must be greater than 0"),
        ({"sinceSeconds": "0"}, "sinceSeconds: Invalid value: 0: must be greater than 0"),
        (
            {"sinceSeconds": "5", "sinceTime": "2026-01-01T00:00:00Z"},
            "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
        ),
    ],
)
def test_bad_log_options_are_a_422_about_pod_log_options(
    api: client.ApiClient, ns: str, query: dict[str, str], message: str
) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(ns, _pod("quiet", "echo hi"))
    status, text = _raw(api, f"/api/v1/namespaces/{ns}/pods/quiet/log", **query)
    body = json.loads(text)
    assert (status, body["reason"]) == (422, "Invalid")
    assert body["message"].startswith('PodLogOptions "quiet" is invalid: ') and message in body["message"], body


def test_watch_bookmarks_and_initial_events_for_true_values_older_clients_send(api: client.ApiClient, ns: str) -> None:
    client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"name": "one"}})
    status, text = _raw(
        api,
        f"/api/v1/namespaces/{ns}/configmaps",
        watch="True",
        sendInitialEvents="True",
        allowWatchBookmarks="1",
        resourceVersionMatch="NotOlderThan",
        timeoutSeconds="1",
        fieldSelector="metadata.name!=kube-root-ca.crt",  # the cluster's CA, in every namespace as on a real cluster
    )
    events = [json.loads(line) for line in text.splitlines()]
    assert status == 200
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events[:1]] == [("ADDED", "one")]
    annotations = events[1]["object"]["metadata"].get("annotations") or {}
    assert events[1]["type"] == "BOOKMARK" and annotations.get("k8s.io/initial-events-end") == "true", events


def test_a_watch_without_a_value_watches(kubectl: Any, namespace: str) -> None:
    kubectl.run("-n", namespace, "create", "configmap", "one")
    raw = kubectl.run("get", "--raw", f"/api/v1/namespaces/{namespace}/configmaps?watch&timeoutSeconds=1").stdout
    assert json.loads(raw.splitlines()[0])["type"] == "ADDED"


def test_pretty_output_for_pretty_true_and_for_curl(api: client.ApiClient, ns: str) -> None:
    client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"name": "one"}})
    path = f"/api/v1/namespaces/{ns}/configmaps/one"
    assert _raw(api, path, pretty="true")[1].startswith('{\n  "')
    assert _raw(api, path, pretty="false")[1].startswith('{"')
    api.user_agent = "curl/8.5.0"
    assert _raw(api, path)[1].startswith('{\n  "')


def test_kubectl_log_flags(kubectl: Any, namespace: str) -> None:
    kubectl.run("-n", namespace, "run", "counter", "--image=busybox", "--restart=Never", "--", "sh", "-c",
                "for i in 1 2 3 4; do echo count $i; done; sleep 2; echo count 5")  # fmt: skip
    kubectl.run("-n", namespace, "wait", "pod/counter", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=60s")
    assert kubectl.run("-n", namespace, "logs", "counter", "--tail=1").stdout == "count 5\n"
    assert kubectl.run("-n", namespace, "logs", "counter", "--limit-bytes=7").stdout == "count 1"
    assert kubectl.run("-n", namespace, "logs", "counter", "--since=1h").stdout.count("count") == 5
    stamped = kubectl.run("-n", namespace, "logs", "counter", "--timestamps").stdout.splitlines()
    assert all(RFC3339_NANO.match(line) for line in stamped), stamped
    since = stamped[4].split(" ", 1)[0]  # kubectl sends whole seconds: the last line is 2 s after the others
    later = kubectl.run("-n", namespace, "logs", "counter", f"--since-time={since}").stdout
    assert later == "count 5\n", later


def test_force_true_as_an_older_client_sends_it_takes_over_conflicting_fields(api: client.ApiClient, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/shared"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"mode": "a"}}

    def apply(manager: str, mode: str, **query: str) -> int:
        request = api.param_serialize(
            "PATCH",
            path,
            query_params=[("fieldManager", manager), *query.items()],
            header_params={"Content-Type": "application/apply-patch+yaml"},
            body=json.dumps({**body, "data": {"mode": mode}}),
            auth_settings=["BearerToken"],
        )
        return api.call_api(*request).status

    assert apply("first", "a") == 201
    assert apply("second", "b") == 409
    assert apply("second", "b", force="True") == 200
    assert client.CoreV1Api(api).read_namespaced_config_map("shared", ns).data == {"mode": "b"}
