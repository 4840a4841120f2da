"""Offline data for project images: the dataset labels of a Dockerfile, as read-only binds.

A workload on a real cluster downloads its data set; the embedded node has no internet. A
project image therefore says which offline data it can use and where, with a label such as
`LABEL dev.kfval.dataset.mnist=/data/mnist`, and the node binds `<datasets dir>/mnist` there,
read-only. The datasets directory is filled once at setup (`python -m kfval.embedded.datasets`).
When it lacks the data set the image runs without it and fetches it as on a real cluster, so a
missing cache shows up as the program's own download error, not as a node that cannot start it.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DATASET_LABEL_PREFIX = "dev.kfval.dataset."
DATASET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class DatasetLabelError(ValueError):
    """A dataset label names no usable data set or no absolute path."""


@dataclass(frozen=True)
class DatasetMount:
    """The data set `name`, from `source` on the host, bound read-only at `target` in the container."""

    name: str
    source: Path
    target: str


def declared(labels: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(data set, container path) for every dataset label, checked."""
    for key, value in sorted(labels.items()):
        if not key.startswith(DATASET_LABEL_PREFIX):
            continue
        name = key[len(DATASET_LABEL_PREFIX) :]
        if not DATASET_NAME_PATTERN.match(name) or name in (".", ".."):
            raise DatasetLabelError(f"LABEL {key}: {name!r} is not a data set name")
        if not posixpath.isabs(value) or posixpath.normpath(value) == "/":
            raise DatasetLabelError(f"LABEL {key}={value}: the mount path must be an absolute path below /")
        yield name, posixpath.normpath(value)


def dataset_mounts(labels: Mapping[str, str], *, datasets_dir: Path | None, image: str) -> tuple[DatasetMount, ...]:
    """The binds the labels ask for that the datasets directory can serve; the rest are logged."""
    mounts = []
    for name, target in declared(labels):
        source = datasets_dir / name if datasets_dir is not None else None
        if source is None or not source.is_dir():
            log.warning(
                "image %s wants data set %r at %s, but %s has none: the program will have to download it",
                image,
                name,
                target,
                datasets_dir,
            )
            continue
        mounts.append(DatasetMount(name=name, source=source.resolve(), target=target))
    return tuple(mounts)
