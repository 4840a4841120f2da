"""What an image registry holds, read through its HTTP API (Docker Registry v2 / OCI distribution).

The suite checks a pushed image where its users' clusters will pull it from: the registry's own
digest for a tag (`Docker-Content-Digest`, else the sha256 of the manifest as served), the manifest
and the image config. Registries authenticate in one of two ways, both answered here: `Basic`
(docker-registry with htpasswd, Harbor's robot accounts) and the token flow (`Bearer realm=...`, as
Docker Hub, GHCR, GCR/Artifact Registry and Quay do), where the user's credentials buy a token for
the repository's scope. Standard library only: a few GETs do not justify a client library.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from kfval.kube.errors import ClusterUnreachableError, ExpectationError, KfvalError

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)
TIMEOUT_SECONDS = 30.0
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(KfvalError):
    """The registry answered, but not with what was asked for (unknown tag, refused credentials)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Manifest:
    digest: str
    body: dict[str, Any]


@dataclass
class Registry:
    """One registry, reached at `address` (host[:port]) with a user that may pull."""

    address: str
    username: str = ""
    password: str = field(default="", repr=False)
    plain_http: bool = False
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def base(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://{self.address}"

    def manifest(self, repository: str, reference: str) -> Manifest:
        """The manifest of `repository:reference` (a tag or a digest) and the digest the registry gives it."""
        raw, headers = self._get(repository, f"/v2/{repository}/manifests/{reference}", accept=MANIFEST_TYPES)
        digest = headers.get("Docker-Content-Digest") or f"sha256:{hashlib.sha256(raw).hexdigest()}"
        return Manifest(digest, json.loads(raw))

    def image_config(self, repository: str, reference: str) -> dict[str, Any]:
        """The image config's `config` (User, Env, WorkingDir, Entrypoint, Cmd, Labels) of a single-platform image."""
        manifest = self.manifest(repository, reference).body
        if "config" not in manifest:
            kinds = manifest.get("mediaType", "an index")
            raise ExpectationError(f"{self.address}/{repository}:{reference} is {kinds}, not a single image")
        raw, _ = self._get(repository, f"/v2/{repository}/blobs/{manifest['config']['digest']}")
        config: dict[str, Any] = json.loads(raw).get("config") or {}
        return config

    def tags(self, repository: str) -> list[str]:
        """The repository's tags; none when the repository does not exist."""
        try:
            raw, _ = self._get(repository, f"/v2/{repository}/tags/list")
        except RegistryError as error:
            if error.status == 404:
                return []
            raise
        return list(json.loads(raw).get("tags") or [])

    def delete(self, repository: str, digest: str) -> bool:
        """Delete a manifest by digest; False when the registry does not allow deletes (405 UNSUPPORTED)."""
        try:
            self._request("DELETE", repository, f"/v2/{repository}/manifests/{digest}")
        except RegistryError as error:
            if error.status == 405:
                return False
            if error.status == 404:
                return True
            raise
        return True

    def _get(self, repository: str, path: str, *, accept: tuple[str, ...] = ()) -> tuple[bytes, dict[str, str]]:
        return self._request("GET", repository, path, accept=accept)

    def _request(
        self, method: str, repository: str, path: str, *, accept: tuple[str, ...] = ()
    ) -> tuple[bytes, dict[str, str]]:
        """One call; on a 401 the challenge is answered once (a token buys one scope, so a delete may need
        a new one after a pull)."""
        url = self.base + path
        try:
            return self._open(method, url, accept, self._tokens.get(repository))
        except urllib.error.HTTPError as error:
            if error.code != 401:
                raise self._refusal(method, url, error) from None
            challenge = error.headers.get("WWW-Authenticate", "")
            error.close()
            authorization = self._authorize(repository, challenge, url)
        try:
            return self._open(method, url, accept, authorization)
        except urllib.error.HTTPError as error:
            raise self._refusal(method, url, error) from None

    def _open(
        self, method: str, url: str, accept: tuple[str, ...], authorization: str | None
    ) -> tuple[bytes, dict[str, str]]:
        request = urllib.request.Request(url, method=method)
        if accept:
            request.add_header("Accept", ", ".join(accept))
        if authorization:
            request.add_unredirected_header("Authorization", authorization)  # not to blob storage redirects
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return response.read(), dict(response.headers)
        except urllib.error.HTTPError:
            raise  # an answer, judged by the caller; only the failures below mean no answer at all
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ClusterUnreachableError(
                f"the registry at {self.base} cannot be reached from here: {reason}; set builder.registry_address "
                "to where this machine reaches it (and builder.insecure = true if it speaks plain HTTP)"
            ) from error

    def _authorize(self, repository: str, challenge: str, url: str) -> str:
        """The Authorization header the registry's 401 challenge asks for."""
        scheme = challenge.split(" ", 1)[0].lower()
        if not self.username:
            raise RegistryError(
                f"GET {url}: the registry demands credentials ({challenge or '401'}); "
                "set builder.username and builder.password",
                status=401,
            )
        basic = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if scheme != "bearer":
            return basic
        params = dict(_CHALLENGE.findall(challenge))
        query = {"service": params.get("service", ""), "scope": params.get("scope") or f"repository:{repository}:pull"}
        token_url = f"{params.get('realm', '')}?{urllib.parse.urlencode(query)}"
        try:
            raw, _ = self._open("GET", token_url, (), basic)
        except urllib.error.HTTPError as error:
            raise self._refusal("GET", token_url, error) from None
        answer = json.loads(raw)
        token = f"Bearer {answer.get('token') or answer.get('access_token')}"
        self._tokens[repository] = token
        return token

    def _refusal(self, method: str, url: str, error: urllib.error.HTTPError) -> RegistryError:
        """The registry's own words (`errors[].code: message`), without what the request carried."""
        try:
            body = json.loads(error.read() or b"{}")
            words = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in body.get("errors") or [])
        except ValueError:
            words = ""
        finally:
            error.close()
        return RegistryError(
            f"{method} {url}: {error.code} {error.reason}" + (f": {words}" if words else ""), status=error.code
        )
