"""The host images' `nslookup` shim: first on busybox/alpine PATH, answering from the hosts file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kfval.embedded.images import hosttools
from kfval.embedded.images.resolving import ImageResolver


@pytest.mark.parametrize("reference", ["busybox", "alpine:3.10", "docker.io/library/busybox:1.36"])
def test_busybox_and_alpine_find_the_shims_first_on_path(reference: str, tmp_path: Path) -> None:
    content = ImageResolver(tmp_path).resolve(reference)
    assert content is not None
    first, *rest = content.env["PATH"].split(":")
    assert Path(first) == hosttools.shims_dir() and (Path(first) / "nslookup").is_file()
    assert ":".join(rest) == hosttools.IMAGE_PATH


def test_other_host_images_keep_their_own_path(tmp_path: Path) -> None:
    content = ImageResolver(tmp_path).resolve("python:3.11")
    assert content is not None and "PATH" not in content.env


def test_nslookup_answers_from_the_hosts_file_like_busybox() -> None:
    shim = str(hosttools.shims_dir() / "nslookup")
    found = subprocess.run([shim, "localhost"], capture_output=True, text=True, check=False)
    assert found.returncode == 0
    assert "Name:\tlocalhost" in found.stdout and "Address: 127.0.0.1" in found.stdout.splitlines()
    missing = subprocess.run([shim, "no-such-master-0"], capture_output=True, text=True, check=False)
    assert missing.returncode == 1
    assert "** server can't find no-such-master-0: NXDOMAIN" in missing.stdout
