"""Reaching a notebook's Jupyter server from inside its pod, as the notebook UI does: run a cell in a
kernel the server starts, save and read files through its contents API.

The requests go through `pods/exec` to a small client (incluster/jupyter_api.py) run by the pod's
own Python, against the server on loopback under the notebook's NB_PREFIX: the same path works on
the embedded cluster and on a real one behind Istio, whose gateway the suite need not reach.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources

from kfval.kube import errors
from kfval.kube.client import Body
from kfval.kube.session import ScenarioSession
from kfval.kubeflow import notebooks

JUPYTER_PORT = 8888
EXEC_TIMEOUT_SECONDS = 120.0


def server_url(found: Body) -> str:
    """The Jupyter server as seen from inside its own pod: loopback, under the notebook's NB_PREFIX."""
    prefix = str(notebooks.environment(found).get("NB_PREFIX") or "").rstrip("/")
    return f"http://127.0.0.1:{JUPYTER_PORT}{prefix}"


BOOTSTRAP = (
    "import sys; size = int(sys.argv[1]); source = sys.stdin.buffer.read(size).decode(); "
    "sys.argv = ['jupyter_api'] + sys.argv[2:]; "
    "exec(compile(source, 'jupyter_api.py', 'exec'), {'__name__': '__main__'})"
)
"""Reads the client's source from stdin by its length (so no end of stdin is needed, which only the v5
exec protocol can signal) and runs it: a long program in the exec URL would outgrow proxies' limits."""


def _jupyter(session: ScenarioSession, name: str, *arguments: str) -> Body:
    """Run the in-pod Jupyter client (incluster/jupyter_api.py) in the notebook's container; its JSON answer."""
    found = notebooks.pod(session, name)
    source = resources.files("kfval.kubeflow.incluster").joinpath("jupyter_api.py").read_bytes()
    container = found["spec"]["containers"][0]["name"]
    command = ["python3", "-c", BOOTSTRAP, str(len(source)), server_url(found), *arguments]
    result = session.conn.exec(
        notebooks.pod_name(name),
        session.namespace,
        command,
        container=container,
        timeout_seconds=EXEC_TIMEOUT_SECONDS,
        stdin=source,
    )
    if result.exit_code != 0:
        why = result.stderr.strip()[-2000:]
        raise errors.ExpectationError(
            f"the Jupyter client in pod {notebooks.pod_name(name)} exited with {result.exit_code}: {why}"
        )
    answer: Body = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def run_cell(session: ScenarioSession, name: str, *, kernel: str, code: str) -> Body:
    """Run `code` in a new `kernel` of the notebook's running Jupyter server; its outputs.

    `status` is `no-kernel` (with the server's `kernels`) when the image has no such kernel.
    """
    return _jupyter(session, name, "cell", kernel, code)


def write_files(session: ScenarioSession, name: str, files: Mapping[str, str]) -> None:
    """Save files (paths relative to the notebook's home, folders made as needed) through the server's
    contents API, as the notebook UI saves them."""
    _jupyter(session, name, "put", json.dumps(dict(files)))


def read_file(session: ScenarioSession, name: str, path: str) -> str:
    return str(_jupyter(session, name, "get", path)["content"])


CELLS = {
    "python3": "import os\nfor name in {names!r}:\n    print(name + '=' + os.environ.get(name, '<unset>'))",
    "ir": "for (n in c({quoted})) cat(paste0(n, '=', Sys.getenv(n, unset = '<unset>')), sep = '\\n')",
}
"""A cell per kernel that prints NAME=value for each variable, `<unset>` for a missing one."""


def kernel_environment(
    session: ScenarioSession, name: str, kernel: str, names: tuple[str, ...]
) -> dict[str, str] | None:
    """The variables as the notebook's running `kernel` sees them; None when the image has no such kernel."""
    code = CELLS[kernel].format(names=list(names), quoted=", ".join(json.dumps(n) for n in names))
    outcome = run_cell(session, name, kernel=kernel, code=code)
    if outcome["status"] == "no-kernel":
        return None
    if outcome["status"] != "ok":
        raise errors.ExpectationError(f"the {kernel} cell failed: {outcome.get('error')}\n{outcome.get('stderr')}")
    lines = dict(line.split("=", 1) for line in str(outcome["stdout"]).splitlines() if "=" in line)
    return {variable: lines.get(variable, "<unset>") for variable in names}
