"""Fields the API server refuses to change on update: workload selectors, Job templates, StatefulSet specs."""

from __future__ import annotations

import copy

from kfval.embedded.admission import immutability
from kfval.embedded.store.catalog import Catalog


def test_workload_selectors_and_job_templates_are_immutable() -> None:
    lookup = Catalog().lookup
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
