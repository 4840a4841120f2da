"""Request bodies -> objects: JSON (also when no Content-Type is sent), YAML, and protobuf.

The Python client sends POST/PUT bodies without a Content-Type; kubectl's generators and Helm's
release storage send protobuf (k8s-api-surface.md §4.1). A body larger than the limit is refused
with 413 before it is parsed.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from aiohttp import web

from kfval.embedded.apiserver import protobuf
from kfval.embedded.errors import BadRequestError, TooLargeError, UnsupportedMediaError
from kfval.embedded.types import Body

MAX_BODY_BYTES = 3 * 1024 * 1024
PROTOBUF = "application/vnd.kubernetes.protobuf"
PATCH_TYPES = frozenset(
    {
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    }
)


async def read_bytes(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise TooLargeError(f"Request entity too large: limit is {limit}")
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data.extend(chunk)
        if len(data) > limit:
            raise TooLargeError(f"Request entity too large: limit is {limit}")
    return bytes(data)


def media_type(request: web.Request) -> str:
    return (request.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()


def parse_text(data: bytes, *, yaml_allowed: bool) -> Any:
    """JSON, or YAML where the media type allows it; 400 with the parser's reason otherwise."""
    if not data.strip():
        raise BadRequestError("the request body is empty")
    try:
        return json.loads(data)
    except ValueError as json_error:
        if not yaml_allowed:
            raise BadRequestError(f"json: cannot unmarshal the request body: {json_error}") from json_error
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as yaml_error:
        raise BadRequestError(f"error converting YAML to JSON: {yaml_error}") from yaml_error


def decode_object(data: bytes, content_type: str) -> Body:
    """A whole object in a POST or PUT body."""
    if content_type == PROTOBUF:
        return protobuf.decode(data)
    if content_type in ("application/json", "application/yaml", "text/yaml", "*/*"):
        body = parse_text(data, yaml_allowed=content_type != "application/json")
    else:
        raise UnsupportedMediaError(
            f"the body of the request was in an unknown format - accepted media types include: "
            f"application/json, application/yaml, {PROTOBUF}"
        )
    if not isinstance(body, dict):
        raise BadRequestError("the request body must be a JSON object")
    return body
