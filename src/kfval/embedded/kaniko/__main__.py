"""`/kaniko/executor [flags]`: parse, run, print errors where Kaniko prints them, exit with its codes."""

from __future__ import annotations

import os
import sys

from kfval.embedded.kaniko import executing, flags, logs
from kfval.embedded.kaniko.releases import Release

USAGE = """Usage:
  executor [flags]
  executor [command]

Available Commands:
  help        Help about any command
  version     Print the version number of kaniko

Use "executor [command] --help" for more information about a command.
"""


def refuse(message: str) -> int:
    """cobra's way: `Error: ...` and the usage on stderr, exit 1."""
    print(f"Error: {message}", file=sys.stderr)
    print(USAGE, file=sys.stderr, end="")
    return 1


def main(argv: list[str]) -> int:
    release = Release.from_tag(os.environ.get("KFVAL_KANIKO_VERSION", "latest"))
    if argv[:1] == ["version"]:
        print(f"Kaniko version :  {release.text}")
        return 0
    try:
        options = flags.parse(argv, release)
        log = logs.Logger(
            options.text("verbosity"), options.text("log-format"), timestamp=options.flag("log-timestamp")
        )
    except (flags.FlagError, logs.LogConfigError) as error:
        return refuse(str(error))
    for warning in options.warnings:
        log.warn(warning)
    try:
        executing.execute(options, release, log)
    except executing.UsageError as error:
        return refuse(str(error))
    except executing.RunError as error:
        print(error.message, flush=True)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
