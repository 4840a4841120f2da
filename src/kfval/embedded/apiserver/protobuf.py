"""Protobuf request bodies, decoded straight from the wire format.

kubectl's `create namespace|configmap|secret|deployment|job|service|serviceaccount|token|role`,
`auth can-i` and Helm's release storage send `application/vnd.kubernetes.protobuf` and have no
JSON fallback (k8s-api-surface.md §4.1). The envelope is the magic `k8s\\0` followed by a
runtime.Unknown whose `raw` field holds the typed message; the field tables (protobuf_fields.py,
protobuf_pods.py, protobuf_kinds.py) name each field number as generated.proto of k8s.io/api and
k8s.io/apimachinery v0.32 does. Responses are always JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from kfval.embedded.apiserver.protobuf_fields import UNKNOWN, Field, Message
from kfval.embedded.apiserver.protobuf_kinds import MESSAGES_BY_KIND
from kfval.embedded.clock import rfc3339
from kfval.embedded.errors import BadRequestError, UnsupportedMediaError
from kfval.embedded.types import Body

MAGIC = b"k8s\x00"
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class _TruncatedError(Exception):
    """The bytes end in the middle of a value."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise _TruncatedError
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _TruncatedError


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field of one message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == _LENGTH:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _TruncatedError
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            if pos + size > len(data):
                raise _TruncatedError
            yield number, wire, data[pos : pos + size]
            pos += size
        else:
            raise _TruncatedError


def _signed(value: int) -> int:
    """int64/int32 are two's complement in a varint."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(field: Field, value: int | bytes) -> Any:
    kind = field.type
    if kind in ("int", "time"):
        if not isinstance(value, int):
            raise _TruncatedError
        return _signed(value)
    if kind == "bool":
        return bool(value)
    if not isinstance(value, bytes):
        raise _TruncatedError
    if kind == "string":
        return value.decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind == "raw":
        return value
    if kind == "fieldsv1":
        inner = _message(value, Message({1: Field("Raw", "raw")}))
        return json.loads(inner["Raw"]) if inner.get("Raw") else {}
    if kind == "quantity":
        return _message(value, _QUANTITY).get("string", "")
    if kind == "intorstr":
        return _int_or_string(value)
    raise _TruncatedError


_QUANTITY = Message({1: Field("string")})
_INT_OR_STRING = Message(
    {1: Field("type", "int", pointer=True), 2: Field("intVal", "int", pointer=True), 3: Field("strVal")}
)


def _int_or_string(data: bytes) -> int | str:
    """intstr.IntOrString: type 0 carries intVal, type 1 strVal; JSON shows the bare value."""
    parts = _message(data, _INT_OR_STRING)
    if parts.get("type", 0) == 1:
        return str(parts.get("strVal", ""))
    return int(parts.get("intVal", 0))


def _map_entry(data: bytes, value_type: str) -> tuple[str, Any]:
    entry = _message(data, Message({1: Field("key", "string"), 2: Field("value", value_type)}))
    return entry.get("key", ""), entry.get("value", "")


def _time(data: bytes) -> str | None:
    parts = _message(data, Message({1: Field("seconds", "int"), 2: Field("nanos", "int")}))
    seconds = parts.get("seconds", 0)
    if not seconds:
        return None
    return rfc3339(datetime.fromtimestamp(seconds, UTC))


def _value(field: Field, wire: int, raw: int | bytes) -> Any:
    if field.message is not None:
        if not isinstance(raw, bytes):
            raise _TruncatedError
        return _message(raw, field.message)
    if field.type == "time":
        if not isinstance(raw, bytes):
            raise _TruncatedError
        return _time(raw)
    return _scalar(field, raw)


def _message(data: bytes, message: Message) -> Body:
    result: Body = {}
    for number, wire, raw in _fields(data):
        field = message.fields.get(number)
        if field is None:
            continue
        if field.map_of is not None:
            if not isinstance(raw, bytes):
                raise _TruncatedError
            key, value = _map_entry(raw, field.map_of)
            result.setdefault(field.name, {})[key] = value
        elif field.repeated:
            result.setdefault(field.name, []).append(_value(field, wire, raw))
        elif field.embedded:
            result.update(_value(field, wire, raw))
        else:
            value = _value(field, wire, raw)
            if _omitted_zero(field, value):
                result.pop(field.name, None)
                continue
            result[field.name] = value
    return _prune(result)


def _omitted_zero(field: Field, value: Any) -> bool:
    """A non-pointer Go int or bool at its zero value is absent in the JSON form."""
    return not field.pointer and field.type in ("int", "bool") and field.message is None and value in (0, False)


def _prune(body: Body) -> Body:
    """Go writes zero values of non-pointer fields; JSON clients never see empty strings or nulls."""
    return {k: v for k, v in body.items() if v not in ("", None, b"") and v != {}}


def decode(data: bytes) -> Body:
    """The JSON shape of a protobuf-encoded object; 400 for bad bytes, 415 for kinds not decoded here."""
    if not data.startswith(MAGIC):
        raise BadRequestError("protobuf body does not start with the Kubernetes magic number k8s\\x00")
    try:
        envelope = _message(data[len(MAGIC) :], UNKNOWN)
        type_meta = envelope.get("typeMeta") or {}
        kind = type_meta.get("kind", "")
        message = MESSAGES_BY_KIND.get(kind)
        if message is None:
            raise UnsupportedMediaError(
                f"unable to decode a protobuf body of kind {kind or '(none)'}: this server decodes protobuf only "
                f"for {', '.join(sorted(MESSAGES_BY_KIND))}; send it as application/json"
            )
        raw = envelope.get("raw", b"")
        body = _message(raw, message) if raw else {}
    except (_TruncatedError, UnicodeDecodeError, ValueError) as error:
        raise BadRequestError("unable to decode the protobuf request body: it is truncated or malformed") from error
    body["apiVersion"] = type_meta.get("apiVersion", "")
    body["kind"] = kind
    return body
