"""The composition root: builds the store, admission, API server, controllers and kubelet, serves
until SIGTERM or SIGINT, then stops every pod before it exits.

Run as `python -m kfval.embedded.runner --state-dir DIR [--port N] [--tls] [--images-dir DIR]
[--datasets-dir DIR] [--keep-registry]`;
kfval.embedded.launch starts it this way. A crash of any background task is re-raised here when
the cluster stops, so a broken controller fails loudly instead of leaving a cluster that never
reconciles.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass
from importlib import resources as package_files
from pathlib import Path

import yaml
from aiohttp import web

from kfval.embedded import certificates, kubeconfig
from kfval.embedded.admission import customresources, imagepullsecrets, poddefault, serviceaccounttoken, training
from kfval.embedded.admission.chain import Admission
from kfval.embedded.apiserver import auth
from kfval.embedded.apiserver.app import build_app
from kfval.embedded.clock import SystemClock
from kfval.embedded.controllers import (
    crd,
    deployment,
    endpoints,
    garbagecollector,
    job,
    namespace,
    notebook,
    pvcbinder,
    pytorchjob,
    replicaset,
    rootcacertpublisher,
    serviceaccount,
    statefulset,
    tfjob,
    ttl,
)
from kfval.embedded.controllers.reactor import Reactor
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.images import aliases
from kfval.embedded.images.resolving import ImageResolver
from kfval.embedded.kubelet import (
    environment,
    executing,
    hosts,
    logs,
    network,
    node,
    pods,
    podservices,
    probes,
    reaping,
    sandbox,
    summary,
    unpacking,
    volumes,
)
from kfval.embedded.registry import seeding, serving
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.tasks import TaskGroup

log = logging.getLogger("kfval.embedded")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "kubeflow")
API_SERVICE_NAME = "kubernetes"


@dataclass(frozen=True)
class Options:
    state_dir: Path
    port: int
    tls: bool
    images_dir: Path
    datasets_dir: Path
    keep_registry: bool = False


def _parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="kfval.embedded.runner")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--images-dir", type=Path, default=Path.cwd() / "images")
    parser.add_argument("--datasets-dir", type=Path, default=Path.cwd() / ".cache" / "datasets")
    parser.add_argument("--keep-registry", action="store_true", help="keep the registry's images after stopping")
    args = parser.parse_args(argv)
    return Options(
        args.state_dir.resolve(),
        args.port,
        args.tls,
        args.images_dir.resolve(),
        args.datasets_dir.resolve(),
        args.keep_registry,
    )


def _seed(store: Store) -> None:
    """What every cluster has before anyone asks: system namespaces and the Kubeflow CRDs."""
    ns_type = store.catalog.lookup("", "v1", "namespaces")
    for name in SYSTEM_NAMESPACES:
        store.create(ns_type, {"metadata": {"name": name}})
    crd_type = store.catalog.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for entry in sorted(package_files.files("kfval.embedded").joinpath("crds").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            body = yaml.safe_load(entry.read_text())
            store.create(crd_type, body)


def _seed_api_service(store: Store, *, host: str, port: int) -> None:
    """The `kubernetes` Service in `default` and its Endpoints: the API server, where pods reach it.

    No proxy stands between pods and Services here, so the Service's port is the server's own
    and `kubernetes.default.svc` resolves (pod /etc/hosts) to the endpoint address.
    """
    labels = {"component": "apiserver", "provider": "kubernetes"}
    port_spec = {"name": "https", "port": port, "protocol": "TCP"}
    service = {
        "metadata": {"name": API_SERVICE_NAME, "namespace": "default", "labels": labels},
        "spec": {"type": "ClusterIP", "ports": [{**port_spec, "targetPort": port}]},
    }
    store.create(store.catalog.lookup("", "v1", "services"), service, namespace="default")
    endpoints = {
        "metadata": {"name": API_SERVICE_NAME, "namespace": "default", "labels": labels},
        "subsets": [{"addresses": [{"ip": host}], "ports": [port_spec]}],
    }
    store.create(store.catalog.lookup("", "v1", "endpoints"), endpoints, namespace="default")


def project_images_outside(images_dir: Path) -> dict[str, tuple[Path, Path]]:
    """Project images whose Dockerfile lives outside `images/`: name -> (Dockerfile, build context).

    The runner image (the suite itself, deploy/runner/Dockerfile) is built from the project folder,
    the parent of `images/`, as its build command says.
    """
    project = images_dir.parent
    return {"runner": (project / "deploy" / "runner" / "Dockerfile", project)}


MAX_HEADER_BYTES = 1 << 20
"""Go's http.DefaultMaxHeaderBytes, kube-apiserver's limit: an exec URL carrying a long command (a
script passed with `-c`) is served, where aiohttp's 8 KiB default would refuse it with a 400."""


class Cluster:
    """Everything one running cluster owns."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.clock = SystemClock()
        self.store = Store(Catalog(), self.clock)
        self.store.register_catalog_hook()
        self.admission = Admission(
            mutators=[
                poddefault.PodDefaultMutator(self.store),
                imagepullsecrets.ServiceAccountPullSecrets(self.store),
                serviceaccounttoken.ServiceAccountTokenVolume(self.store),
            ],
            validators=[training.TrainingJobValidator()],
        )
        self.store.admission = self.admission
        self.store.decoder = customresources.read
        self.store.on_change(self.admission.allocator.observe)
        self.tasks = TaskGroup()
        self.token = auth.new_token()
        self.authority = auth.TokenAuthority(self.token, self.store)
        self.sockets: list[socket.socket] = []
        """Where the API server listens: loopback, and the pods' gateway when pods have their own network."""
        self.runner: web.AppRunner | None = None
        self.logs = logs.ContainerLogs(options.state_dir / "pods", self.clock, self.store)
        self.hosts = hosts.HostsFiles(self.store, options.state_dir)
        self.network: network.NamespacedNetwork | network.LoopbackNetwork | None = None
        self.sandbox: sandbox.BubblewrapSandbox | sandbox.PlainSandbox | None = None
        self.kubelet: pods.Kubelet | None = None
        self.registry: serving.LocalRegistry | None = None
        self.resolver = ImageResolver(
            options.images_dir,
            aliases.KUBEFLOW_EXAMPLE_IMAGES,
            datasets_dir=options.datasets_dir,
            outside_images=project_images_outside(options.images_dir),
        )

    async def start(self) -> str:
        options = self.options
        await reaping.reap(options.state_dir, self.clock)
        self.network = await network.detect_network(sandbox.cluster_prefix(options.state_dir))
        await self.network.prepare()
        api_port = self._bind(self.network.host_ip)
        serving = self._serving_certificate(self.network.host_ip)
        _seed(self.store)
        _seed_api_service(self.store, host=self.network.host_ip, port=api_port)
        self._start_controllers(ca_pem=serving.ca_pem.decode() if serving else "")
        self.sandbox = await sandbox.detect_sandbox(options.state_dir, self.clock)
        registry_images = await self._start_registry(self.network.host_ip, self.sandbox.launcher)
        self.kubelet = pods.Kubelet(
            self.store,
            self.clock,
            sandbox=self.sandbox,
            network=self.network,
            services=self._pod_services(api_host=self.network.host_ip, api_port=api_port),
            pods_root=options.state_dir / "pods",
            tasks=self.tasks,
            registry=registry_images,
        )
        self.tasks.spawn("hosts", self.hosts.run())
        self.tasks.spawn("kubelet", self.kubelet.run())
        return await self._serve(serving)

    def _bind(self, pod_gateway: str) -> int:
        """Listen on loopback (the port asked for, else a free one) and, at the same port, on the
        address pods reach the host at; the port."""
        loopback = socket.create_server(("127.0.0.1", self.options.port))
        self.sockets.append(loopback)
        port = int(loopback.getsockname()[1])
        if pod_gateway != "127.0.0.1":
            self.sockets.append(socket.create_server((pod_gateway, port)))
        return port

    def _serving_certificate(self, pod_gateway: str) -> certificates.ServingCertificate | None:
        if not self.options.tls:
            return None
        return certificates.ensure(self.options.state_dir / "pki", self.clock.now(), addresses=(pod_gateway,))

    def _start_controllers(self, *, ca_pem: str) -> None:
        reactor = Reactor(self.store, self.clock, self.tasks)
        for controller in (
            namespace.NamespaceController(self.store, self.clock),
            garbagecollector.GarbageCollectorController(self.store, self.clock),
            serviceaccount.ServiceAccountController(self.store, self.clock),
            rootcacertpublisher.RootCACertPublisher(self.store, self.clock, ca_pem=ca_pem),
            crd.CrdController(self.store, self.clock),
            endpoints.EndpointsController(self.store, self.clock),
            pvcbinder.PvcBinderController(self.store, self.clock, self.options.state_dir / "volumes"),
            deployment.DeploymentController(self.store, self.clock),
            replicaset.ReplicaSetController(self.store, self.clock),
            statefulset.StatefulSetController(self.store, self.clock),
            job.JobController(self.store, self.clock),
            ttl.TTLAfterFinishedController(self.store, self.clock),
            pytorchjob.PyTorchJobController(self.store, self.clock),
            tfjob.TFJobController(self.store, self.clock),
            notebook.NotebookController(self.store, self.clock),
            notebook.NotebookEventsController(self.store, self.clock),
        ):
            reactor.start(controller)

    async def _start_registry(self, host: str, launcher: sandbox.ProcessLauncher) -> unpacking.RegistryImages | None:
        """The registry on the pods' gateway, seeded, named in every pod's hosts; None when it cannot run."""
        state_dir = self.options.state_dir
        self.registry = serving.LocalRegistry(state_dir, self.clock, host=host, keep=self.options.keep_registry)
        try:
            access = await self.registry.start(launcher)
            await seeding.seed(access, self.registry.directory / "seed")
        except serving.RegistryError as error:
            log.warning("the cluster runs without an image registry: %s", error)
            await self.registry.stop()
            self.registry = None
            return None
        self.hosts.add_fixed(access.host, serving.REGISTRY_NAME)
        local = {alias: f"{access.name}/{target}" for alias, target in seeding.ALIASES.items()}
        self.resolver.kaniko_env["KFVAL_REGISTRY_ALIASES"] = json.dumps(local)
        return unpacking.RegistryImages(
            state_dir / "images", name=access.name, address=access.address, aliases=seeding.ALIASES
        )

    def _pod_services(self, *, api_host: str, api_port: int) -> podservices.PodServices:
        return podservices.PodServices(
            images=self.resolver,
            volumes=volumes.NodeVolumes(self.authority),
            environment=environment.NodeEnvironment(api_host=api_host, api_port=api_port),
            probes=probes,
            hosts=self.hosts,
            logs=self.logs,
            events=Recorder(self.store, self.clock, "kubelet", node.DEFAULT_NODE_NAME),
            scheduler_events=Recorder(self.store, self.clock, "default-scheduler"),
        )

    async def _serve(self, serving: certificates.ServingCertificate | None) -> str:
        assert self.kubelet is not None
        app = build_app(
            store=self.store,
            admission=self.admission,
            logs=self.logs,
            executor=executing.ContainerExecutor(self.kubelet),
            authority=self.authority,
            usage=summary.ResourceSummary(self.kubelet, self.clock),
        )
        self.runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=1.0,
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
        )
        await self.runner.setup()
        state_dir = self.options.state_dir
        ssl_context = serving.server_context() if serving else None
        for bound in self.sockets:
            await web.SockSite(self.runner, bound, ssl_context=ssl_context).start()
        port = self.runner.addresses[0][1]
        server = f"{'https' if serving else 'http'}://127.0.0.1:{port}"
        ca_pem = serving.ca_pem if serving else None
        kubeconfig.write(state_dir / "kubeconfig", kubeconfig.render(server, self.token, ca_pem=ca_pem))
        access = self.registry.access if self.registry is not None else None
        record = {"server": server, "pid": os.getpid(), "registry": access.record() if access else None}
        kubeconfig.write(state_dir / "cluster.json", json.dumps(record))
        return server

    async def stop(self) -> None:
        """Stop whatever `start` got to: pods first (no process may outlive the cluster), then the rest."""
        (self.options.state_dir / "cluster.json").unlink(missing_ok=True)
        if self.kubelet is not None:
            await self.kubelet.close()
        self.store.fanout.close_all()  # ends every watch stream, so the HTTP server need not wait them out
        if self.runner is not None:
            await self.runner.cleanup()
        for bound in self.sockets:
            bound.close()
        await self.tasks.close()
        if self.registry is not None:
            await self.registry.stop()
        await asyncio.to_thread(shutil.rmtree, self.options.state_dir / "images", True)
        if self.network is not None:
            await self.network.close()
        if self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.close)


async def serve(options: Options) -> None:
    cluster = Cluster(options)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        server = await cluster.start()
        log.info("embedded cluster serving at %s; kubeconfig %s", server, options.state_dir / "kubeconfig")
        await stopping.wait()
        log.info("stopping the embedded cluster")
    finally:
        await cluster.stop()
    if cluster.tasks.crash is not None:
        raise cluster.tasks.crash


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = _parse(sys.argv[1:] if argv is None else argv)
    options.state_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
