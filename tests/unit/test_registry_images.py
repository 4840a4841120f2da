"""Images of the cluster's registry on the node: references, the image's user from its own /etc/passwd,
pull errors in containerd's and the registry's words, the container's own root, the seeded base layer."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from kfval.embedded import launch
from kfval.embedded.images import hostruntime
from kfval.embedded.images.resolving import ImageResolver
from kfval.embedded.kubelet import identity, rootfs, unpacking
from kfval.embedded.kubelet.containers import Mount, PodNetwork, ProcessSpec, RunAs
from kfval.embedded.registry import seeding

REGISTRY = "registry.kube-system.svc.cluster.local:5000"


def test_references_by_tag_by_digest_and_by_alias() -> None:
    assert unpacking.parse(f"{REGISTRY}/team/app:1") == unpacking.Reference(REGISTRY, "team/app", "1", None)
    assert unpacking.parse(f"{REGISTRY}/team/app").tag == "latest"
    digest = "sha256:" + "a" * 64
    assert unpacking.parse(f"{REGISTRY}/team/app@{digest}") == unpacking.Reference(REGISTRY, "team/app", None, digest)
    images = unpacking.RegistryImages(Path("/x"), name=REGISTRY, address="10.244.1.1:5000", aliases=seeding.ALIASES)
    assert images.target("gcr.io/kubeflow-images-public/fairing:dev") == unpacking.parse(f"{REGISTRY}/base/python:3.11")
    assert images.target("10.244.1.1:5000/team/app:2") is not None
    assert images.target("docker.io/library/python:3.11") is None


def test_the_users_identity_comes_from_the_images_own_files(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(seeding.PASSWD)
    (tmp_path / "etc" / "group").write_text(seeding.GROUP + "docker:x:999:jovyan\n")
    jovyan = unpacking.identity("1000", tmp_path)
    assert (jovyan.uid, jovyan.gid, jovyan.groups, jovyan.home) == (1000, 100, (999,), "/home/jovyan")
    assert unpacking.identity("jovyan:docker", tmp_path).gid == 999
    assert unpacking.identity("", tmp_path).uid == 0
    assert unpacking.identity("4242", tmp_path).__dict__ == {"uid": 4242, "gid": 0, "groups": (), "home": "/"}


def test_pull_errors_quote_the_registry() -> None:
    fatal = (
        'time="2026-12-05T03:37:30Z" level=fatal '
        'msg="Error parsing image name \\"docker://10.244.1.1:5000/team/app:1\\": '
        'reading manifest 1 in 10.244.1.1:5000/team/app: unauthorized: authentication required"'
    )
    words = unpacking.registry_words(fatal.encode())
    assert words == "unauthorized: authentication required"
    image = f"{REGISTRY}/team/app:1"
    denied = unpacking.pull_error(image, image, words).message
    assert denied.endswith(
        "pull access denied, repository does not exist or may require authorization: "
        "server message: unauthorized: authentication required"
    )
    missing = unpacking.pull_error(image, image, "manifest unknown: manifest unknown").message
    assert "code = NotFound" in missing and missing.endswith(f"{image}: not found")


def test_the_image_config_becomes_what_the_container_starts_from(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(seeding.PASSWD)
    (tmp_path / "etc" / "group").write_text(seeding.GROUP)
    labels = {hostruntime.HOST_RUNTIME_LABEL: hostruntime.label_value()}
    config = {"config": {"User": "1000", "Env": ["A=1"], "WorkingDir": "/app", "Cmd": ["python3"], "Labels": labels}}
    content = unpacking.content_of("r/app:1", config, tmp_path, image_id="r/app@sha256:1")
    assert content.env == {"A": "1", "HOME": "/home/jovyan"}
    assert (content.workdir, content.cmd, content.entrypoint, content.rootfs) == ("/app", ("python3",), None, tmp_path)
    assert content.runtime_paths == hostruntime.runtime_paths()


def test_only_runtime_paths_this_host_offers_are_honoured() -> None:
    assert hostruntime.declared({hostruntime.HOST_RUNTIME_LABEL: '["/etc", "/usr/lib"]'}) == ("/usr/lib",)
    assert hostruntime.declared({hostruntime.HOST_RUNTIME_LABEL: "not json"}) == ()


def test_an_image_root_is_the_containers_whole_view(tmp_path: Path) -> None:
    spec = ProcessSpec(
        argv=("python3",),
        env={},
        workdir="/app",
        mounts=(Mount(tmp_path / "hosts", "/etc/hosts"),),
        hostname="p",
        network=PodNetwork("10.0.0.2"),
        scratch_dirs=(),
        root=tmp_path / "root",
        runtime_paths=("/usr/lib",),
    )
    args = rootfs.filesystem_args(spec, state_dir=None)
    assert args[:5] == ["--bind", str(tmp_path / "root"), "/", "--dev", "/dev"]
    assert args[7:10] == ["--ro-bind", "/usr/lib", "/usr/lib"]
    assert args[-4:] == ["--dir", "/app", "--chdir", "/app"]
    assert "--ro-bind" in args and args[:3] != ["--ro-bind", "/", "/"]


def test_the_user_switch_runs_setpriv_through_the_loader() -> None:
    ldd = (
        "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibcap-ng.so.0 => /lib/x86_64-linux-gnu/libcap-ng.so.0 (0x00007f44)\n"
        "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f43)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f45)\n"
    )
    files = identity.linked_files("/usr/bin/setpriv", ldd)
    assert files == {
        "setpriv": "/usr/bin/setpriv",
        "libcap-ng.so.0": "/lib/x86_64-linux-gnu/libcap-ng.so.0",
        "libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6",
        "ld-linux-x86-64.so.2": "/lib64/ld-linux-x86-64.so.2",
    }
    assert identity.switch_argv(RunAs(1000, 100, (999,)), files) == [
        "/.kfval/ld-linux-x86-64.so.2", "--library-path", "/.kfval", "/.kfval/setpriv",
        "--reuid=1000", "--regid=100", "--groups=999", "--",
    ]  # fmt: skip


def test_the_seeded_layer_is_the_same_bytes_every_time() -> None:
    first, second = seeding.layer_tar(["sh", "ls"]), seeding.layer_tar(["ls", "sh"])
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as layer:
        members = {member.name: member for member in layer.getmembers()}
    assert (members["home/jovyan"].uid, members["home/jovyan"].gid) == (1000, 100)
    assert members["bin/sh"].linkname == "busybox" and members["lib"].linkname == "usr/lib"
    assert members["tmp"].mode == 0o1777


def test_the_tensorflow_base_the_launch_door_names_is_seeded() -> None:
    assert launch.TENSORFLOW_BASE in {base.reference for base in seeding.BASE_IMAGES}


def test_the_kaniko_executor_image_answers_any_tag() -> None:
    resolver = ImageResolver(Path("/nowhere"))
    resolver.kaniko_env["KFVAL_REGISTRY_ALIASES"] = "{}"
    for reference, tag in (
        ("gcr.io/kaniko-project/executor:v0.22.0", "v0.22.0"),
        ("gcr.io/kaniko-project/executor", "latest"),
        ("gcr.io/kaniko-project/executor:debug@sha256:" + "b" * 64, "debug"),
    ):
        content = resolver.resolve(reference)
        assert content is not None
        assert content.entrypoint == ("/kaniko/executor",)
        assert content.env["DOCKER_CONFIG"] == "/kaniko/.docker/"
        assert content.env["KFVAL_KANIKO_VERSION"] == tag
        assert content.workdir == "/workspace"
