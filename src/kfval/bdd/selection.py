"""Which features of the permissions table a run selects, read as radish reads them.

`kfval rbac --tags` and `kfval preflight --tags` must grant and check exactly what `kfval run --tags`
would run, so the features are parsed by radish's own parser with the same tag expression (kfval.bdd.parsing, which
names a Gherkin or tag mistake as `kfval run` does); a feature
counts when at least one of its scenarios is selected. Each feature file of the project names its
component with a feature-level tag that is a key of the permissions table (`@pytorchjob`,
`@notebooks`, ...; a unit test holds every feature file to it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kfval.bdd import parsing
from kfval.kube import errors, permissions

FEATURES_DIR = Path("features")


def keys_of(features: Iterable[Any]) -> tuple[str, ...]:
    """The permission keys named by the feature-level tags of radish features that have scenarios to run.

    A feature naming none gets only what every run may do (its steps can still be checked: strict
    permissions refuse anything more)."""
    keys: set[str] = set()
    for feature in features:
        if feature.scenarios:
            keys |= {tag.name for tag in feature.tags} & set(permissions.FEATURES)
    return tuple(key for key in permissions.FEATURES if key in keys)


def select(paths: Sequence[Path] = (FEATURES_DIR,), tags: str | None = None) -> tuple[str, ...]:
    """The permission keys of the features in `paths` (files or folders) whose scenarios `tags` selects."""
    files = parsing.feature_files(paths)
    features = parsing.features(files, parsing.tag_expression(tags) if tags else None)
    if not any(feature.scenarios for feature in features):
        raise errors.SetupError(f"the tag expression {tags!r} selects no scenario in {', '.join(map(str, files))}")
    return keys_of(features)
