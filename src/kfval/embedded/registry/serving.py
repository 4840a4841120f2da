"""A real OCI registry (Debian's `docker-registry`, CNCF distribution 2.8) that lives and dies with the cluster.

The Kaniko executor pushes to it and the kubelet pulls from it, so it must be a registry that
real clients (skopeo, buildah, go-containerregistry) accept as one, with real authentication:
htpasswd with bcrypt entries (distribution refuses any other hash), written by `htpasswd -B`.
It listens only where pods and the host reach it: the pod bridge's gateway (an RFC 1918
address, so Kaniko talks plain HTTP to it as it would on a cluster), or loopback when pods share
the host's network. Pods know it as `registry.kube-system.svc.cluster.local`. Its own config
is written here, since Debian's listens on every interface and points htpasswd at a directory.
Its storage lives in the state directory and goes when the cluster stops, unless asked to stay.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import yaml

from kfval.embedded.clock import Clock
from kfval.embedded.kubelet import processes, sandbox

log = logging.getLogger(__name__)

REGISTRY_NAME = "registry.kube-system.svc.cluster.local"
"""The name pods use, as a Service `registry` in `kube-system` would be called."""
REGISTRY_PORT = 5000
USERNAME = "kfval"
READY_TIMEOUT_SECONDS = 20.0
READY_CHECK_SECONDS = 0.05
STOP_GRACE_SECONDS = 5.0
REALM = "kfval-registry"


class RegistryError(Exception):
    """The registry could not be set up or did not start; the message says why."""


@dataclass(frozen=True)
class RegistryAccess:
    """Where the registry answers and who may use it: what `kfval cluster status` shows."""

    name: str
    """`host:port` as pods write it in image references."""
    address: str
    """`ip:port` where the host (and pods) reach it."""
    username: str
    password: str

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0]

    def record(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address, "username": self.username, "password": self.password}


def config(data_dir: Path, htpasswd: Path, address: str) -> str:
    """The registry's own configuration: filesystem storage, one listening address, htpasswd auth."""
    document = {
        "version": 0.1,
        "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(data_dir)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": address, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        "auth": {"htpasswd": {"realm": REALM, "path": str(htpasswd)}},
    }
    return yaml.safe_dump(document, sort_keys=False)


def free_port(host: str) -> int:
    """REGISTRY_PORT when it is free on `host`, else any free port (clusters sharing loopback)."""
    for port in (REGISTRY_PORT, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RegistryError(f"no free port on {host} for the registry")


async def bcrypt_entry(username: str, password: str) -> str:
    """One htpasswd line with a bcrypt hash, made by Apache's `htpasswd -B` (password on stdin)."""
    tool = shutil.which("htpasswd")
    if tool is None:
        raise RegistryError("htpasswd is not installed (Debian package apache2-utils)")
    code, output = await sandbox.run_host([tool, "-niB", username], stdin=password.encode())
    line = output.decode(errors="replace").strip().splitlines()[-1:] if code == 0 else []
    if not line or not line[0].startswith(f"{username}:$2"):
        raise RegistryError(f"htpasswd -B failed ({code}): {output.decode(errors='replace').strip()}")
    return line[0] + "\n"


class LocalRegistry:
    """Starts `docker-registry serve` on the given host address and stops it with the cluster."""

    def __init__(self, state_dir: Path, clock: Clock, *, host: str, keep: bool = False) -> None:
        self.directory = state_dir / "registry"
        self.data_dir = self.directory / "data"
        self._clock = clock
        self._host = host
        self._keep = keep
        self._daemon: processes.HostDaemon | None = None
        self.access: RegistryAccess | None = None

    async def start(self, launcher: sandbox.ProcessLauncher) -> RegistryAccess:
        binary = shutil.which("docker-registry")
        if binary is None:
            raise RegistryError("docker-registry is not installed (Debian package docker-registry)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port(self._host)
        password = secrets.token_urlsafe(18)
        htpasswd = self.directory / "htpasswd"
        htpasswd.write_text(await bcrypt_entry(USERNAME, password))
        htpasswd.chmod(0o600)
        address = f"{self._host}:{port}"
        settings = self.directory / "config.yml"
        settings.write_text(config(self.data_dir, htpasswd, address))
        self._daemon = await launcher.start_daemon(
            [binary, "serve", str(settings)], log_path=self.directory / "registry.log"
        )
        await self._until_ready(address)
        self.access = RegistryAccess(f"{REGISTRY_NAME}:{port}", address, USERNAME, password)
        log.info("image registry at %s (pods: %s)", address, self.access.name)
        return self.access

    async def _until_ready(self, address: str) -> None:
        """Wait until `/v2/` answers 401 with a Basic challenge: listening, and enforcing auth."""
        attempts = int(READY_TIMEOUT_SECONDS / READY_CHECK_SECONDS)
        async with aiohttp.ClientSession() as session:
            for _ in range(attempts):
                if self._daemon is not None and self._daemon.exit_code is not None:
                    break
                try:
                    async with session.get(f"http://{address}/v2/") as response:
                        if response.status == 401 and "Basic" in response.headers.get("WWW-Authenticate", ""):
                            return
                except aiohttp.ClientError:
                    pass
                await self._clock.sleep(READY_CHECK_SECONDS)
        tail = (self.directory / "registry.log").read_text(errors="replace")[-2000:]
        raise RegistryError(f"the registry did not start on {address}: {tail.strip() or 'no output'}")

    async def stop(self) -> None:
        """Stop the registry; its storage goes too unless the cluster was asked to keep it."""
        if self._daemon is not None:
            await self._daemon.stop(STOP_GRACE_SECONDS)
            self._daemon = None
        if not self._keep:
            shutil.rmtree(self.directory, ignore_errors=True)
