"""The architecture's boundaries hold, and each check of them fails when the boundary is crossed.

`lint-imports` (pyproject.toml) keeps the package contracts; the controllers' independence is checked
here, over every module that defines a `*Controller` class, so a new controller is covered without a
list to keep. Each contract is then broken on purpose, in a copy of the source tree, to prove the
check would notice.
"""

from __future__ import annotations

import ast
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTROLLERS = "kfval.embedded.controllers"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def controller_modules(source: Path) -> list[str]:
    """Modules of the controllers package that define a class named like an upstream controller
    (`DeploymentController`); the reactor's `Controller` protocol is not one."""
    found = []
    for path in sorted((source / "kfval/embedded/controllers").glob("*.py")):
        tree = ast.parse(path.read_text())
        classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
        if any(name.endswith("Controller") and name != "Controller" for name in classes):
            found.append(f"{CONTROLLERS}.{path.stem}")
    return found


def controller_dependencies(source: Path) -> list[str]:
    """Every pair of controllers where one depends on the other, directly or through shared modules."""
    graph = grimp.build_graph("kfval", cache_dir=None)
    modules = controller_modules(source)
    return [
        f"{importer} -> {imported}"
        for importer, imported in itertools.permutations(modules, 2)
        if graph.chain_exists(importer=importer, imported=imported)
    ]


def test_every_controller_is_found_and_none_depends_on_another() -> None:
    modules = controller_modules(ROOT / "src")
    assert {f"{CONTROLLERS}.{name}" for name in ("namespace", "deployment", "pytorchjob", "tfjob")} <= set(modules)
    assert f"{CONTROLLERS}.reactor" not in modules, "shared machinery is not a controller"
    assert controller_dependencies(ROOT / "src") == []


def test_the_import_contracts_hold() -> None:
    result = subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree and the lint configuration, to break on purpose."""
    copy = tmp_path_factory.mktemp("contracts")
    shutil.copytree(ROOT / "src/kfval", copy / "src/kfval", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def _verdict(output: str, contract: str) -> str:
    """KEPT or BROKEN, as lint-imports prints it after the contract's name (which it may wrap)."""
    after = output[output.index(contract) :]
    return next(word for word in after.split() if word in ("KEPT", "BROKEN"))


def _lint(copy: Path, violation: str, code: str) -> str:
    module = copy / "src" / violation
    original = module.read_text() if module.exists() else None
    module.write_text(f"{original or chr(34) * 3 + 'A deliberate violation.' + chr(34) * 3}\n{code}\n")
    newcomer = copy / "src/kfval/newcomer.py"
    if "newcomer" in code:
        newcomer.write_text('"""A module no contract names."""\n')
    try:
        result = subprocess.run(
            [LINT_IMPORTS, "--no-cache"],
            cwd=copy,
            env={"PYTHONPATH": str(copy / "src"), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        if original is None:
            module.unlink()
        else:
            module.write_text(original)
        newcomer.unlink(missing_ok=True)
    assert result.returncode != 0, f"lint-imports passed although {violation} does `{code}`"
    return " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("violation", "code", "broken"),
    [
        ("kfval/embedded/violation.py", "from kfval.kube import errors", "The embedded cluster shares no code"),
        ("kfval/embedded/violation.py", "import kfval.newcomer", "The embedded cluster shares no code"),
        ("kfval/kubeflow/violation.py", "import radish", "Only the radish adapter and the command line"),
        ("kfval/kube/violation.py", "from kfval.embedded import launch", "Only the radish adapter and the command"),
        ("kfval/metrics/violation.py", "import kubernetes", "Only the client door imports kubernetes"),
        ("kfval/kube/newdoor.py", "from kubernetes import client", "Only the client door imports kubernetes"),
        ("kfval/bdd/violation.py", "from kfval.embedded.store import objects", "only through its launch door"),
        ("kfval/kube/violation.py", "from kfval.bdd import scenario", "Suite layers"),
        ("kfval/stray.py", "import json", "Suite layers"),
        ("kfval/target.py", "from kfval.bdd import lifecycle", "Suite layers"),
        ("kfval/embedded/store/violation.py", "from kfval.embedded.controllers import reactor", "Embedded layers"),
        ("kfval/embedded/kubelet/violation.py", "from kfval.embedded.registry import serving", "Embedded layers"),
        ("kfval/embedded/kaniko/violation.py", "from kfval.embedded.kubelet import sandbox", "a workload program"),
        (
            "kfval/embedded/kubelet/violation.py",
            "from kfval.embedded.kaniko import flags",
            "does not import the Kaniko",
        ),
    ],
)
def test_each_contract_fails_when_broken(tree_copy: Path, violation: str, code: str, broken: str) -> None:
    output = _lint(tree_copy, violation, code)
    assert _verdict(output, broken) == "BROKEN", output


def test_a_controller_that_imports_another_is_found(tree_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tree_copy / "src/kfval/embedded/controllers/pytorchjob.py"
    original = target.read_text()
    target.write_text(original + "\nfrom kfval.embedded.controllers import tfjob as _tfjob  # noqa\n")
    monkeypatch.syspath_prepend(str(tree_copy / "src"))
    for name in [name for name in sys.modules if name == "kfval" or name.startswith("kfval.")]:
        monkeypatch.delitem(sys.modules, name)
    try:
        assert f"{CONTROLLERS}.pytorchjob -> {CONTROLLERS}.tfjob" in controller_dependencies(tree_copy / "src")
    finally:
        target.write_text(original)
