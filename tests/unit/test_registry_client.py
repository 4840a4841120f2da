"""The suite's registry client against a registry that hands out tokens (Docker Hub's flow), served here
by a small HTTP server: the challenge, the token bought with the user's credentials, the digest header,
and the registry's own words when it refuses."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kfval.kube import errors
from kfval.registry import Registry, RegistryError

MANIFEST = json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:c0"}, "layers": []}).encode()
CONFIG = json.dumps({"config": {"User": "1000", "Cmd": ["python3"]}}).encode()
BASIC = "Basic " + base64.b64encode(b"robot:pw").decode()


class TokenRegistry(BaseHTTPRequestHandler):
    """A registry behind a token service: the token is scoped to the repository and action asked for."""

    seen: list[tuple[str, str, str]] = []

    def log_message(self, *_args: object) -> None:
        return

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self, action: str) -> bool:
        self.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        if self.headers.get("Authorization") == f"Bearer token-for-{action}":
            return True
        realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        challenge = f'Bearer realm="{realm}",service="registry.test",scope="repository:team/app:{action}"'
        errors_body = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
        self._send(401, json.dumps(errors_body).encode(), {"WWW-Authenticate": challenge})
        return False

    def do_GET(self) -> None:
        if self.path.startswith("/token"):
            scope = self.path.split("scope=")[1]
            granted = self.headers.get("Authorization") == BASIC
            body = {"token": f"token-for-{scope.rsplit('%3A', 1)[1]}"} if granted else {"details": "bad credentials"}
            self._send(200 if granted else 401, json.dumps(body).encode())
        elif not self._authorized("pull"):
            return
        elif self.path == "/v2/team/app/manifests/latest":
            self._send(200, MANIFEST, {"Docker-Content-Digest": "sha256:from-header"})
        elif self.path == "/v2/team/app/manifests/plain":
            self._send(200, MANIFEST)
        elif self.path == "/v2/team/app/blobs/sha256:c0":
            self._send(200, CONFIG)
        else:
            self._send(
                404, json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}).encode()
            )

    def do_DELETE(self) -> None:
        if self._authorized("delete"):
            self._send(
                405,
                json.dumps({"errors": [{"code": "UNSUPPORTED", "message": "The operation is unsupported."}]}).encode(),
            )


@pytest.fixture
def address() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenRegistry)
    TokenRegistry.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_token_bought_with_the_users_credentials_reads_digest_and_config(address: str) -> None:
    registry = Registry(address, "robot", "pw", plain_http=True)
    assert registry.manifest("team/app", "latest").digest == "sha256:from-header"
    assert registry.manifest("team/app", "plain").digest == f"sha256:{hashlib.sha256(MANIFEST).hexdigest()}"
    assert registry.image_config("team/app", "latest") == {"User": "1000", "Cmd": ["python3"]}
    first_answered = [auth for _method, path, auth in TokenRegistry.seen if path.endswith("/plain")]
    assert first_answered == ["Bearer token-for-pull"], "a token, once bought, is sent before any challenge"


def test_a_refusal_is_in_the_registrys_words_and_never_carries_the_password(address: str) -> None:
    with pytest.raises(RegistryError) as caught:
        Registry(address, "robot", "wrong-pw", plain_http=True).manifest("team/app", "latest")
    assert caught.value.status == 401
    assert "wrong-pw" not in str(caught.value)
    with pytest.raises(RegistryError, match="MANIFEST_UNKNOWN: manifest unknown") as missing:
        Registry(address, "robot", "pw", plain_http=True).manifest("team/app", "gone")
    assert missing.value.status == 404


def test_without_credentials_the_error_names_the_settings_to_set(address: str) -> None:
    with pytest.raises(RegistryError, match=r"set builder\.username and builder\.password"):
        Registry(address, plain_http=True).manifest("team/app", "latest")


def test_a_delete_the_registry_does_not_support_is_reported_not_raised(address: str) -> None:
    registry = Registry(address, "robot", "pw", plain_http=True)
    assert registry.delete("team/app", "sha256:from-header") is False
    deletes = [auth for method, _path, auth in TokenRegistry.seen if method == "DELETE"]
    assert deletes[-1] == "Bearer token-for-delete", "a delete buys a token of its own scope"


def test_an_unreachable_registry_names_the_setting_to_fix() -> None:
    with pytest.raises(errors.ClusterUnreachableError, match=r"set builder\.registry_address"):
        Registry("127.0.0.1:9", plain_http=True).manifest("team/app", "latest")
