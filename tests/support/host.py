"""What the host lets the sandbox and network tests do, and the plain reason when it does not.

Those tests need root and Debian tools (bubblewrap, iproute2). `make test` runs as root in CI, so
there they run; elsewhere they skip, and the skip says which requirement is missing.
"""

from __future__ import annotations

import os
import shutil

import pytest

PACKAGES = {"bwrap": "bubblewrap", "ip": "iproute2", "ss": "iproute2"}
IS_ROOT = os.geteuid() == 0


def unmet(*tools: str) -> str | None:
    """Why tests that need root and `tools` cannot run on this host; None when they can."""
    reasons = [] if IS_ROOT else ["needs root (CI and `make test` run as root)"]
    reasons += [f"needs {tool} (apt-get install {PACKAGES[tool]})" for tool in tools if shutil.which(tool) is None]
    return "; ".join(reasons) or None


def needs_root_and(*tools: str) -> pytest.MarkDecorator:
    """Skip, saying why, unless the host is root with `tools` installed."""
    reason = unmet(*tools)
    return pytest.mark.skipif(reason is not None, reason=reason or "")
