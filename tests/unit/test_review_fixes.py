"""API-server behaviours a review found wrong: pagination, event names, generations, selectors, patch
wording, immutable workload fields, rollout-undo template matching and the new protobuf kinds."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from kfval.embedded.admission import defaulting, immutability
from kfval.embedded.apiserver import columns, paging, patching, protobuf
from kfval.embedded.clock import rfc3339_nano, unix_nanos
from kfval.embedded.controllers import podtemplates
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import BadRequestError, GoneError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.history import History
from kfval.embedded.store.objects import Store
from kfval.embedded.store.selectors import parse_label_selector, selector_from_match
from kfval.embedded.types import Body
from tests.unit.test_protobuf import envelope, field


class StepClock:
    """A clock that moves one microsecond per reading, so event names differ."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(microseconds=1)
        return self.moment

    def monotonic(self) -> float:
        return 0.0


@pytest.fixture
def store() -> Store:
    made = Store(Catalog(), StepClock())
    made.create(made.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "demo"}})
    return made


def _items(*names: str) -> list[Body]:
    return [{"metadata": {"namespace": "demo", "name": name}} for name in names]


def test_a_page_hands_out_a_token_until_the_last_item() -> None:
    history = History()
    items = _items("a", "b", "c")
    first = paging.paginate(items, 1000, limit=2, token="", history=history)
    assert [i["metadata"]["name"] for i in first.items] == ["a", "b"]
    assert first.list_metadata()["remainingItemCount"] == 1
    rest = paging.paginate(items, 1005, limit=2, token=first.token, history=history)
    assert [i["metadata"]["name"] for i in rest.items] == ["c"]
    assert rest.resource_version == 1000
    assert rest.list_metadata() == {"resourceVersion": "1000"}


def test_a_token_order_follows_namespace_then_name() -> None:
    items = [{"metadata": {"namespace": ns, "name": "x"}} for ns in ("a", "a-b", "b")]
    first = paging.paginate(items, 1000, limit=1, token="", history=History())
    rest = paging.paginate(items, 1000, limit=5, token=first.token, history=History())
    assert [i["metadata"]["namespace"] for i in rest.items] == ["a-b", "b"]


def test_bad_and_expired_tokens() -> None:
    with pytest.raises(BadRequestError, match="continue key is not valid"):
        paging.paginate(_items("a"), 1000, limit=1, token="%%%", history=History())
    history = History()
    token = paging.Cursor(1000, "demo\x00a").encode()
    for _ in range(3):
        history.next_version()
    history.compact()
    with pytest.raises(GoneError, match="too old to display a consistent list"):
        paging.paginate(_items("a", "b"), 1003, limit=1, token=token, history=history)
    with pytest.raises(BadRequestError):
        paging.parse_limit("ten")
    assert paging.parse_limit("-1") == 0


def test_events_are_named_after_the_object_and_the_time_and_fold_repeats(store: Store) -> None:
    events = store.catalog.lookup("", "v1", "events")
    recorder = Recorder(store, store.clock, "deployment-controller")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "demo", "uid": "u1"}}
    recorder.event(pod, "Normal", "Started", "one")
    recorder.event(pod, "Normal", "Started", "two")
    recorder.event(pod, "Normal", "Started", "one")
    listed, _ = store.list(events, "demo")
    assert [e["message"] for e in listed] == ["one", "two"]
    assert [e["count"] for e in listed] == [2, 1]
    prefix, stamp = listed[0]["metadata"]["name"].split(".")
    assert prefix == "web"
    assert int(stamp, 16) > unix_nanos(datetime(2026, 1, 1, tzinfo=UTC))


def test_clock_nanos_and_rfc3339_nano() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)
    assert unix_nanos(moment) % 1_000_000_000 == 120_000_000
    assert rfc3339_nano(moment) == "2026-01-02T03:04:05.12Z"
    assert rfc3339_nano(moment.replace(microsecond=0)) == "2026-01-02T03:04:05Z"


def test_only_workload_and_custom_kinds_count_generations(store: Store) -> None:
    lookup = store.catalog.lookup
    config = store.create(lookup("", "v1", "configmaps"), {"metadata": {"name": "c", "namespace": "demo"}})
    assert "generation" not in config["metadata"]
    config["data"] = {"a": "1"}
    assert "generation" not in store.replace(lookup("", "v1", "configmaps"), config)["metadata"]
    spec = {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}}}
    body = {"metadata": {"name": "d", "namespace": "demo"}, "spec": spec}
    assert store.create(lookup("apps", "v1", "deployments"), body)["metadata"]["generation"] == 1


def test_label_selector_strings_are_the_ones_kubectl_prints() -> None:
    selector = {
        "matchLabels": {"tier": "web", "app": "x"},
        "matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["b", "a"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert str(selector_from_match(selector)) == "app=x,!legacy,tier=web,zone in (a,b)"
    assert columns.format_selector(None) == "<none>"
    assert str(parse_label_selector("a!=b,c notin (d)")) == "a!=b,c notin (d)"


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"op": "test", "path": "/data/a", "value": "2"}, "testing value /data/a failed: test failed"),
        ({"op": "remove", "path": "/data/zz"}, "Unable to remove nonexistent key: zz: missing value"),
        (
            {"op": "replace", "path": "/x/y", "value": 1},
            "replace operation does not apply: doc is missing key: /x/y: missing value",
        ),
    ],
)
def test_a_json_patch_that_does_not_apply_is_worded_without_python_reprs(operation: Body, message: str) -> None:
    with pytest.raises(patching.PatchRejectedError) as caught:
        patching.json_patch({"data": {"a": "1"}}, [operation])
    assert caught.value.details["causes"][0]["message"] == message


def test_workload_selectors_and_job_templates_are_immutable(store: Store) -> None:
    lookup = store.catalog.lookup
    old = {"spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"spec": {"containers": [{"name": "c"}]}}}}
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "b"}}
    causes = immutability.validate_update(lookup("apps", "v1", "deployments"), new, old)
    assert [(c.field, c.message) for c in causes] == [
        (
            "spec.selector",
            'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"b"}, '
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        )
    ]
    job = copy.deepcopy(old)
    job["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox"
    job_causes = immutability.validate_update(lookup("batch", "v1", "jobs"), job, old)
    assert [c.field for c in job_causes] == ["spec.template"]
    suspended = copy.deepcopy(old)
    suspended["spec"]["suspend"] = True
    moved = copy.deepcopy(suspended)
    moved["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    assert immutability.validate_update(lookup("batch", "v1", "jobs"), moved, suspended) == []
    sts = copy.deepcopy(old)
    sts["spec"]["serviceName"] = "other"
    forbidden = immutability.validate_update(lookup("apps", "v1", "statefulsets"), sts, old)
    assert forbidden[0].message.startswith("Forbidden: updates to statefulset spec for fields other than")


def test_templates_compare_semantically_and_nulls_are_dropped() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "resources": {}}]}}
    stored = copy.deepcopy(template)
    stored["metadata"]["labels"][podtemplates.POD_TEMPLATE_HASH_LABEL] = "abc"
    undone = copy.deepcopy(template)
    undone["metadata"]["creationTimestamp"] = None
    del undone["spec"]["containers"][0]["resources"]
    assert podtemplates.templates_equal(stored, undone)
    assert podtemplates.template_hash(template) == podtemplates.template_hash(undone)
    assert not podtemplates.templates_equal(stored, {**template, "spec": {"containers": [{"name": "d"}]}})
    body: Body = {"spec": {"template": undone}}
    defaulting.drop_nulls(body)
    assert "creationTimestamp" not in body["spec"]["template"]["metadata"]


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
