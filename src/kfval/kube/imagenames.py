"""Image references as a kubelet reads them, so that a mistyped one in radish.ini stops the run at start.

A pod whose image cannot be parsed waits in `InvalidImageName` on a real node, and a run that names
such an image would find out only after its namespace, job and pods exist. The grammar is the one of
the distribution project's `reference` package (what the kubelet and containerd parse):
`[host[:port]/]path[:tag][@algorithm:hex]`, path components in lowercase.
"""

from __future__ import annotations

import re

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = (
    r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
)
_HOST = rf"(?:{_DOMAIN}|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
FORM = "[registry[:port]/]repository[:tag][@sha256:digest], e.g. registry.example.com/kfval/pytorch-mnist:1.0"


def problem(reference: str) -> str | None:
    """Why `reference` is not an image reference a kubelet can pull (None when it is one)."""
    if not reference.strip():
        return "it is empty"
    if "://" in reference:
        return "an image reference has no scheme (drop the http:// or https://)"
    if any(character.isspace() for character in reference):
        return "an image reference has no spaces"
    if not _REFERENCE.fullmatch(reference):
        if _REFERENCE.fullmatch(_lowercase_path(reference)):
            return "repository names are lowercase"
        return f"it does not read as {FORM}"
    return None


def _lowercase_path(reference: str) -> str:
    """The reference with its repository path lowercased (the registry host may keep its case)."""
    host, slash, rest = reference.partition("/")
    if slash and ("." in host or ":" in host or host == "localhost"):
        return f"{host}/{_lowercase_repository(rest)}"
    return _lowercase_repository(reference)


def _lowercase_repository(text: str) -> str:
    """Lowercase up to the tag or digest, which may keep their case."""
    cut = min((index for index in (text.find("@"), text.rfind(":")) if index >= 0), default=len(text))
    return text[:cut].lower() + text[cut:]
