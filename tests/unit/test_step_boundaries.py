"""Steps are thin glue: they import radish and kfval's facades, never the client or the embedded cluster."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STEPS = sorted((Path(__file__).parents[2] / "steps").glob("*.py"))
FORBIDDEN = ("kubernetes", "kfval.embedded", "kfval.kube.client")
MAX_STEP_MODULE_LINES = 150


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_step_modules_are_found() -> None:
    assert len(STEPS) >= 4


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_steps_import_no_client_and_no_embedded_internals(path: Path) -> None:
    bad = sorted(name for name in imported(path) if name.startswith(FORBIDDEN))
    assert bad == [], f"{path} imports {bad}; go through kfval's facade modules instead"


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_step_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_STEP_MODULE_LINES
