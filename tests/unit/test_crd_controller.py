"""The apiextensions (CRD) controller through a real store: Established status, and cleanup before deletion.

While custom resources of a deleted CRD remain, the controller looks again when the test advances
the fake clock.
"""

from __future__ import annotations

from kfval.embedded.controllers.crd import CLEANUP_FINALIZER, CLEANUP_RECHECK_SECONDS, CrdController
from kfval.embedded.types import Body
from tests.support.cluster import WIDGETS_CRD, running
from tests.support.loop import on_loop
from tests.support.polling import eventually


@on_loop
async def test_stored_crd_becomes_established() -> None:
    async with running(CrdController) as h:
        crds = h.rt("customresourcedefinitions", "apiextensions.k8s.io/v1")
        h.store.create(crds, WIDGETS_CRD)

        def established() -> Body | None:
            crd = h.store.get(crds, None, "widgets.example.com")
            conditions = {c["type"]: c for c in (crd.get("status") or {}).get("conditions") or []}
            return crd if conditions.get("Established", {}).get("status") == "True" else None

        crd = await eventually(established, "Established=True")
        by_type = {c["type"]: c for c in crd["status"]["conditions"]}
        assert by_type["NamesAccepted"]["reason"] == "NoConflicts"
        assert by_type["NamesAccepted"]["message"] == "no conflicts found"
        assert by_type["Established"]["reason"] == "InitialNamesAccepted"
        assert by_type["Established"]["message"] == "the initial names have been accepted"
        names = crd["status"]["acceptedNames"]
        assert (names["kind"], names["listKind"], names["singular"], names["plural"]) == (
            "Widget",
            "WidgetList",
            "widget",
            "widgets",
        )
        assert crd["status"]["storedVersions"] == ["v1"]
        assert crd["metadata"]["finalizers"] == [CLEANUP_FINALIZER]


@on_loop
async def test_deleting_a_crd_removes_its_custom_resources_first() -> None:
    async with running(CrdController) as h:
        crds = h.rt("customresourcedefinitions", "apiextensions.k8s.io/v1")
        h.store.create(crds, WIDGETS_CRD)
        h.make_namespace("team")
        widgets = h.rt("widgets", "example.com/v1")
        h.store.create(widgets, {"metadata": {"name": "a"}}, namespace="team")
        held = {"metadata": {"name": "b", "finalizers": ["example.com/hold"]}}
        h.store.create(widgets, held, namespace="team")
        await eventually(
            lambda: (
                CLEANUP_FINALIZER in h.store.get(crds, None, "widgets.example.com")["metadata"].get("finalizers", [])
            ),
            "finalizer",
        )
        h.store.delete(crds, None, "widgets.example.com")
        await eventually(lambda: h.gone(widgets, "team", "a"), "custom resource a deleted")
        await h.advance(CLEANUP_RECHECK_SECONDS)
        assert h.store.exists(crds, None, "widgets.example.com"), "the CRD waits for its last custom resource"
        b = h.store.get(widgets, "team", "b")
        b["metadata"]["finalizers"] = []
        h.store.replace(widgets, b)
        await h.advance(CLEANUP_RECHECK_SECONDS)
        await eventually(lambda: h.gone(crds, None, "widgets.example.com"), "CRD removed")
        assert h.store.catalog.find("example.com", "v1", "widgets") is None
