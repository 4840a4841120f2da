"""What starting `kfval run` and the embedded cluster does not pay for: matplotlib until the first picture,
the CEL parser until the first validation rule (each about a third of a second on these machines)."""

from __future__ import annotations

import subprocess
import sys


def imported_after(statement: str, probe: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", f"{statement}\nimport sys\nprint({probe})"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_cli_leaves_matplotlib_to_the_first_picture() -> None:
    assert imported_after("import kfval.cli", "'matplotlib' in sys.modules") == "False"


def test_the_embedded_cluster_builds_its_cel_parser_at_the_first_rule() -> None:
    probe = "celrules._environment.cache_info().currsize"
    assert imported_after("import kfval.embedded.runner\nfrom kfval.embedded.admission import celrules", probe) == "0"
