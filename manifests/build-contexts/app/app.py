"""The built app: says what it finds in its image, as one JSON line."""

import json
import os
from importlib import metadata


def tensorflow_version():
    for distribution in ("tensorflow", "tensorflow-cpu"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return None


with open("/app/run-step.txt") as written:
    run_step = written.read().strip()
print(
    json.dumps(
        {
            "uid": os.getuid(),
            "cwd": os.getcwd(),
            "run_step": run_step,
            "fairing_runtime": os.environ.get("FAIRING_RUNTIME"),
            "tensorflow": tensorflow_version(),
        }
    )
)
