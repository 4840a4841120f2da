"""The executor's own conversations with registries, as go-containerregistry holds them.

Kaniko checks that it may push before it builds, by starting a blob upload (and cancelling it),
and reads each base image's manifest and config itself; its messages quote the registry's errors
in go-containerregistry's words (`POST http://.../blobs/uploads/: UNAUTHORIZED: authentication
required; [map[...]]`). Plain HTTP is used where go-containerregistry uses it by itself
(localhost, `*.local`, RFC 1918 addresses) or where the flags ask for it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from kfval.embedded.dockerconfig import Credential

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
TIMEOUT_SECONDS = 30.0


class RemoteError(Exception):
    """A registry refused a request; `str()` is go-containerregistry's message."""


@dataclass(frozen=True)
class ImageName:
    """`registry/repository:tag` split as go-containerregistry's name.ParseReference (weak validation)."""

    registry: str
    repository: str
    tag: str

    @classmethod
    def parse(cls, reference: str) -> ImageName:
        name, _, _digest = reference.partition("@")
        first, slash, rest = name.partition("/")
        if not slash or ("." not in first and ":" not in first and first != "localhost"):
            first, rest = "index.docker.io", name if slash else f"library/{name}"
        tag = "latest"
        if ":" in rest.rsplit("/", 1)[-1]:
            rest, tag = rest.rsplit(":", 1)
        return cls(first, rest, tag)

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def plain_http(registry: str, insecure: bool) -> bool:
    """Whether to speak HTTP: asked for, or a host go-containerregistry trusts with HTTP by itself."""
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if insecure or host == "localhost" or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def go_value(value: Any) -> str:
    """A JSON value as Go's %v prints it after decoding into interface{} (maps with sorted keys)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{go_value(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(item) for item in value) + "]"
    if value is None:
        return "<nil>"
    return str(value)


def error_text(method: str, url: str, status: int, reason: str, body: bytes) -> str:
    """go-containerregistry's transport.Error for a response with an unexpected status."""
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    if len(errors) == 1:
        found = errors[0]
        text = f"{found.get('code')}: {found.get('message')}"
        detail = found.get("detail")
        return f"{method} {url}: {text}; {go_value(detail)}" if detail is not None else f"{method} {url}: {text}"
    if errors:
        listed = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
        return f"{method} {url}: multiple errors returned: {listed}"
    if body:
        return f"{method} {url}: unexpected status code {status} {reason}: {body.decode(errors='replace')}"
    return f"{method} {url}: unexpected status code {status} {reason}"


def go_transport_error(reason: object, url: str) -> str:
    """What Go's HTTP client says when it gets no response (as wrapped in a url.Error)."""
    host = url.split("://", 1)[1].split("/", 1)[0]
    if isinstance(reason, ssl.SSLError):
        return "http: server gave HTTP response to HTTPS client"
    if isinstance(reason, ConnectionRefusedError):
        return f"dial tcp {host}: connect: connection refused"
    if isinstance(reason, socket.gaierror):
        return f"dial tcp: lookup {host.rsplit(':', 1)[0]}: no such host"
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"dial tcp {host}: i/o timeout"
    return str(reason)


def unverified() -> ssl.SSLContext:
    """TLS without certificate checks (`--skip-tls-verify`)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True)
class Access:
    """How to reach one registry: plain HTTP or TLS, and whether its certificate is checked."""

    plain: bool
    verify: bool = True

    @property
    def tls_verify(self) -> bool:
        """What buildah's and skopeo's `--tls-verify` should say (false also allows plain HTTP)."""
        return self.verify and not self.plain


class Registry:
    """Requests to one registry with the credential the keychain gave for it (or none)."""

    def __init__(self, name: ImageName, credential: Credential | None, access: Access) -> None:
        self.name = name
        self.credential = credential
        self.base = f"{'http' if access.plain else 'https'}://{name.registry}/v2/{name.repository}"
        self.context = None if access.verify else unverified()

    def _request(self, method: str, url: str, accept: tuple[str, ...] = ()) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, method=method)
        if self.credential is not None:
            request.add_header("Authorization", f"Basic {self.credential.auth}")
        if accept:
            request.add_header("Accept", ", ".join(accept))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS, context=self.context) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            raise RemoteError(error_text(method, url, error.code, str(error.reason), error.read())) from error
        except urllib.error.URLError as error:
            raise RemoteError(f'{method.capitalize()} "{url}": {go_transport_error(error.reason, url)}') from error

    def check_push(self) -> None:
        """Start a blob upload and cancel it, as remote.CheckPushPermission does."""
        _status, headers, _body = self._request("POST", f"{self.base}/blobs/uploads/")
        location = headers.get("Location")
        if location:
            url = location if "://" in location else f"{self.base.split('/v2/')[0]}{location}"
            with contextlib.suppress(RemoteError):
                self._request("DELETE", url)

    def config(self) -> dict[str, Any]:
        """The image config (what the manifest's config blob holds) of `name`."""
        _status, _headers, raw = self._request("GET", f"{self.base}/manifests/{self.name.tag}", MANIFEST_TYPES)
        manifest = json.loads(raw)
        digest = manifest["config"]["digest"]
        _status, _headers, blob = self._request("GET", f"{self.base}/blobs/{digest}")
        parsed: dict[str, Any] = json.loads(blob)
        return parsed
