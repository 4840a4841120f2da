"""The admission chain: one call between decoding a write and storing it, as in the real API server.

The API server calls :meth:`Admission.admit` for every create and update; what comes back is what
the store keeps. The order follows kube-apiserver: request metadata (namespace, generated name,
uid), scheme defaulting, mutating admission (the plug-in `Mutator`s, e.g. the PodDefault webhook;
defaulting runs again after them, as the real server re-defaults a patched object), validation
(422 with the real wording), then the plug-in `Validator`s (e.g. the training operator's webhook),
and last the Service address allocation, so that a rejected object never holds an address.

Custom resources are pruned by their CRD's schema before defaulting and validated against it after
the object's metadata (customresources.py), on `/status` writes too, which the store hands in as the
stored object with the new status.

Wiring: the runner installs the chain as `Store.admission`, so every create and every update, by a
client or by a controller, is admitted the same way (a built-in kind's `/status` only by plug-ins);
on CREATE, `admit` sets `metadata.uid` (the Job selector is built from it, as the real server fills
system metadata before its create strategy runs) and the store keeps it. The runner also registers
`store.on_change(admission.allocator.observe)` so a deleted Service gives its address back.
"""

from __future__ import annotations

import copy
import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from kfval.embedded.admission import customresources, defaulting, podvalidation, pruning, validation
from kfval.embedded.errors import BadRequestError, Cause, InvalidError
from kfval.embedded.store.naming import generate_suffix
from kfval.embedded.types import Body, ResourceKey, ResourceType, WatchEvent

Operation = Literal["CREATE", "UPDATE"]
SERVICE_CIDR = "10.96.0.0/16"
DYNAMIC_OFFSET = 257
"""Dynamic addresses start above the band real clusters keep for static ones (10.96.0.x, e.g. kube-dns .10)."""
SERVICES = ResourceKey("", "services")


@dataclass(frozen=True)
class AdmissionRequest:
    """What a plug-in sees: the object as defaulted so far, the stored one on UPDATE, and where it goes."""

    rt: ResourceType
    operation: Operation
    object: Body
    old: Body | None
    namespace: str
    subresource: str | None = None


class Mutator(Protocol):
    """A mutating admission step (a stand-in for a mutating webhook such as PodDefault)."""

    def mutate(self, request: AdmissionRequest) -> Body | None:
        """The object to continue with, or None to leave it unchanged; raise ApiError to reject."""
        ...


class Validator(Protocol):
    """A validating admission step (a stand-in for a validating webhook)."""

    def validate(self, request: AdmissionRequest) -> None:
        """Return to admit; raise InvalidError, ForbiddenError (or another ApiError) to reject."""
        ...


class ClusterIPAllocator:
    """Service cluster IPs from one IPv4 range; the state outlives requests, so the runner owns one."""

    def __init__(self, cidr: str = SERVICE_CIDR) -> None:
        self.network = ipaddress.IPv4Network(cidr)
        self._used: set[ipaddress.IPv4Address] = set()
        self._cursor = DYNAMIC_OFFSET

    def allocate(self) -> str:
        """The next free dynamic address; InternalError-worthy RuntimeError when the range is full."""
        size = self.network.num_addresses - 2
        for _ in range(size):
            offset = self._cursor
            self._cursor = self._cursor % size + 1
            address = self.network.network_address + offset
            if address not in self._used:
                self._used.add(address)
                return str(address)
        raise RuntimeError(f"range is full: {self.network}")

    def reserve(self, text: str) -> str | None:
        """Claim a requested address; the reason it cannot be had, worded as the real allocator does."""
        address = ipaddress.IPv4Address(text)
        usable = address in self.network and address not in (
            self.network.network_address,
            self.network.broadcast_address,
        )
        if not usable:
            return f"the provided IP ({address}) is not in the valid range. The range of valid IPs is {self.network}"
        if address in self._used:
            return "provided IP is already allocated"
        self._used.add(address)
        return None

    def release(self, text: str) -> None:
        try:
            self._used.discard(ipaddress.IPv4Address(text))
        except ValueError:
            return

    def observe(self, event: WatchEvent) -> None:
        """A store change hook: a deleted Service frees its cluster IPs."""
        if event.key == SERVICES and event.type == "DELETED":
            for address in (event.object.get("spec") or {}).get("clusterIPs") or []:
                self.release(address)


class Admission:
    """Defaulting, plug-in mutation, validation and plug-in validation for every write."""

    def __init__(
        self,
        allocator: ClusterIPAllocator | None = None,
        *,
        mutators: Sequence[Mutator] = (),
        validators: Sequence[Validator] = (),
    ) -> None:
        self.allocator = allocator or ClusterIPAllocator()
        self.mutators: list[Mutator] = list(mutators)
        self.validators: list[Validator] = list(validators)

    def admit(
        self,
        rt: ResourceType,
        obj: Body,
        *,
        operation: Operation,
        old: Body | None,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> Body:
        """The object to store; raises InvalidError (422), ForbiddenError or BadRequestError to refuse it."""
        body = copy.deepcopy(obj)
        ns = _place(rt, body, namespace)
        checked = subresource is None or rt.schema is not None  # a custom resource's status is checked too
        if old is not None and checked:
            old = copy.deepcopy(old)
            customresources.read(rt, old)
            defaulting.default_object(rt, old, old=old)  # the real server reads the stored object back defaulted
        if operation == "CREATE":
            _name_and_uid(body)
        if checked:
            pruning.decode(rt, body)
            defaulting.default_object(rt, body, old=old)
        body = self._mutate(rt, body, operation=operation, old=old, namespace=ns, subresource=subresource)
        if checked:
            causes = validation.validate(rt, body, old=old) + podvalidation.validate(rt, body, old=old)
            causes += customresources.validate(rt, body, old=old, earlier=causes)
            _refuse(rt, body, causes)
        request = AdmissionRequest(rt, operation, body, old, ns, subresource)
        for validator in self.validators:
            validator.validate(request)
        if subresource is None and rt.key == SERVICES:
            _refuse(rt, body, self._assign_addresses(body, old))
        return body

    def _mutate(self, rt: ResourceType, body: Body, **request: Any) -> Body:
        changed = False
        for mutator in self.mutators:
            result = mutator.mutate(AdmissionRequest(rt, object=body, **request))
            if result is not None and result != body:
                body, changed = result, True
        if changed and request["subresource"] is None:
            defaulting.default_object(rt, body, old=request["old"])
        return body

    def _assign_addresses(self, service: Body, old: Body | None) -> list[Cause]:
        """clusterIP(s) and IP families: kept from the old object, reserved when asked for, else allocated."""
        spec = service.setdefault("spec", {})
        if spec.get("type") == "ExternalName":
            return []
        previous = (old or {}).get("spec") or {}
        if previous.get("clusterIP") and spec.get("clusterIP") in (None, ""):
            for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                if field in previous:
                    spec[field] = copy.deepcopy(previous[field])
            return []
        wanted = spec.get("clusterIP") or ""
        if previous.get("clusterIP"):
            if wanted != previous["clusterIP"]:
                return [validation.invalid("spec.clusterIPs[0]", wanted, "may not change once set")]
            return []
        causes = self._claim(spec, wanted)
        spec.setdefault("ipFamilies", ["IPv4"])
        headless_without_selector = spec["clusterIP"] == "None" and not spec.get("selector")
        spec.setdefault("ipFamilyPolicy", "RequireDualStack" if headless_without_selector else "SingleStack")
        return causes

    def _claim(self, spec: dict[str, Any], wanted: str) -> list[Cause]:
        if wanted == "None":
            spec["clusterIPs"] = ["None"]
            return []
        if not wanted:
            spec["clusterIP"] = self.allocator.allocate()
            spec["clusterIPs"] = [spec["clusterIP"]]
            return []
        spec["clusterIPs"] = [wanted]
        try:
            reason = self.allocator.reserve(wanted)
        except ValueError:
            detail = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            return [validation.invalid("spec.clusterIPs[0]", wanted, detail)]
        if reason is None:
            return []
        shown = validation.go_value([wanted])
        return [
            validation.invalid("spec.clusterIPs", None, f"failed to allocate IP {wanted}: {reason}", rendered=shown)
        ]


def _place(rt: ResourceType, body: Body, namespace: str | None) -> str:
    """The request's namespace wins when the body has none; a different one is a 400, as on a real server."""
    meta = body.setdefault("metadata", {})
    if not rt.namespaced:
        meta.pop("namespace", None)
        return ""
    if namespace and meta.get("namespace") and meta["namespace"] != namespace:
        raise BadRequestError("the namespace of the provided object does not match the namespace sent on the request")
    if namespace:
        meta["namespace"] = namespace
    return str(meta.get("namespace") or "")


def _name_and_uid(body: Body) -> None:
    """System metadata the real server fills before its create strategy runs."""
    meta = body["metadata"]
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = str(meta["generateName"]) + generate_suffix()
    meta["uid"] = str(uuid.uuid4())


def _refuse(rt: ResourceType, body: Body, causes: list[Cause]) -> None:
    if causes:
        name = str((body.get("metadata") or {}).get("name") or "")
        raise InvalidError(rt.kind, name, causes, group=rt.group)
