"""Random name suffixes, drawn from the alphabet Kubernetes uses so names look (and sort) like real ones."""

from __future__ import annotations

import secrets

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def generate_suffix(length: int = 5) -> str:
    """`generateName` completion and pod name suffixes: no vowels, so no accidental words."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
