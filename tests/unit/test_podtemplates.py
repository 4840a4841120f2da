"""Pod templates compared as the deployment controller compares them, so `kubectl rollout undo` finds its match."""

from __future__ import annotations

import copy

from kfval.embedded.admission import defaulting
from kfval.embedded.controllers import podtemplates
from kfval.embedded.types import Body


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
