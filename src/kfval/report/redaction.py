"""Keeps secret values out of everything the suite writes: console, embeddings, JUnit, HTML.

Every Secret the suite creates or reads is registered with the run's `Redactor`; each sink passes
its text through `redact` on the way out. Kubernetes hands Secret data around base64-encoded, and
logs often print a token in a header, so a registered value is also recognised in its base64 forms
(at each of the three byte alignments it can have inside a longer encoded blob) and a few
well-known credential shapes (bearer tokens, JWTs, AWS access keys) are masked even if nobody
registered them.
"""

from __future__ import annotations

import base64
import io
import re
import threading
from typing import TextIO

MASK = "***"

# Base64 fragments shorter than this would match ordinary words; the full encoding is always masked.
MIN_FRAGMENT_CHARS = 8
# Lines of a multi-line secret (a PEM key, a kubeconfig) that are masked on their own when printed line by line.
MIN_LINE_CHARS = 12

_KNOWN_SHAPES = (
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"()\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
    re.compile(r"()\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
)


def base64_forms(value: str) -> set[str]:
    """The strings a value can appear as once base64-encoded, alone or inside a longer encoded blob."""
    raw = value.encode()
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.add(encode(raw).decode())
        for offset in range(3):
            encoded = encode(b"\0" * offset + raw).decode()
            # characters that depend on the value's bits alone, whatever surrounds it
            start, end = -(-8 * offset // 6), (8 * (offset + len(raw))) // 6
            fragment = encoded[start:end]
            if len(fragment) >= MIN_FRAGMENT_CHARS:
                forms.add(fragment)
    return forms


class Redactor:
    """The run's registry of secret values, and the one function every sink calls before writing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._needles: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: str) -> None:
        """Mask `value` (and its base64 forms) in everything redacted from now on; empty values are ignored."""
        if not value.strip():
            return
        needles = {value} | base64_forms(value)
        needles |= {line.strip() for line in value.splitlines() if len(line.strip()) >= MIN_LINE_CHARS}
        with self._lock:
            if needles <= self._needles:
                return
            self._needles |= needles
            ordered = sorted(self._needles, key=len, reverse=True)  # longest first: no partial masks
            self._pattern = re.compile("|".join(re.escape(needle) for needle in ordered))

    def redact(self, text: str) -> str:
        """`text` with every registered secret and well-known credential shape replaced by the mask."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        for shape in _KNOWN_SHAPES:
            text = shape.sub(lambda match: match.group(1) + MASK, text)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        """Redact UTF-8 text held as bytes; undecodable bytes survive unchanged around the masks."""
        return self.redact(data.decode("utf-8", errors="surrogateescape")).encode("utf-8", errors="surrogateescape")


class RedactingStream(io.TextIOBase):
    """A console stream that redacts whole lines before passing them on (a secret cannot straddle two writes)."""

    def __init__(self, target: TextIO, redactor: Redactor) -> None:
        super().__init__()
        self.target = target
        self.redactor = redactor
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r")) + 1
        if cut:
            self.target.write(self.redactor.redact(self._pending[:cut]))
            self._pending = self._pending[cut:]
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.target.write(self.redactor.redact(self._pending))
            self._pending = ""
        self.target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.target.encoding
