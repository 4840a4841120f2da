"""The string formats a CRD schema's `format` is checked against, as apiextensions-apiserver checks them.

kube-apiserver strips every format it does not support from a CRD schema before validating
(apiserver/validation/formats.go), so `int32`, `int64`, `float` and `double` constrain nothing; the
ones it keeps are checked by kube-openapi's strfmt registry (go-openapi's checkers, govalidator's
regular expressions), which this module follows. A value that fails is refused as
`<field> in body must be of type <format>: "<value>"`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import re
from collections.abc import Callable

_UUID = r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?%s[0-9a-f]{3}-?%s[0-9a-f]{3}-?[0-9a-f]{12}$"
_OCTET = r"(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])"
_WORD = r"[^\W_]"
_HOSTNAME = re.compile(
    rf"^({_WORD}((-?{_WORD}{{0,62}})?)|({_WORD}((({_WORD}|-){{0,61}}{_WORD})?)(\.)){{1,}}({_WORD})(-?{_WORD}){{1,62}})$"
)
_GO_DURATION = re.compile(r"^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$")
_DURATION_PART = re.compile(r"(\d+)\s*([A-Za-zµ]+)")
_DURATION_UNITS = frozenset(
    alias
    for aliases in (
        "ns nanosecond nanoseconds",
        "us µs microsecond microseconds",
        "ms millisecond milliseconds",
        "s sec second seconds",
        "m min minute minutes",
        "h hr hour hours",
        "d day days",
        "w wk week weeks",
    )
    for alias in aliases.split()
)
_DATETIME_TIME = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
_MAC = re.compile(
    r"^([0-9a-fA-F]{2}[:-]){5}([0-9a-fA-F]{2})$|^([0-9a-fA-F]{2}[:-]){7}([0-9a-fA-F]{2})$"
    r"|^([0-9a-fA-F]{2}[:-]){19}([0-9a-fA-F]{2})$|^([0-9a-fA-F]{4}\.){2,9}[0-9a-fA-F]{4}$"
)
_CREDIT_CARD = re.compile(
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}"
    r"|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}"
    r"|6[27][0-9]{14})$"
)


def _matches(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda text: compiled.search(text) is not None


def _is_date(text: str) -> bool:
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%d").strftime("%Y-%m-%d") == text
    except ValueError:
        return False


def _is_datetime(text: str) -> bool:
    parts = text.lower().split("t")
    if len(text) < 4 or len(parts) < 2 or not _is_date(parts[0]):
        return False
    match = _DATETIME_TIME.match(parts[1])
    return match is not None and match[1] <= "23" and match[2] <= "59" and match[3] <= "59"


def _is_duration(text: str) -> bool:
    if _GO_DURATION.match(text):
        return True
    return any(unit.lower() in _DURATION_UNITS for _count, unit in _DURATION_PART.findall(text))


def _is_ip(text: str, separator: str) -> bool:
    """govalidator's IsIPv4/IsIPv6: any address Go parses, written with dots or with colons."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return separator in text


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error:
        return False
    return _BASE64.match(text) is not None


def _isbn10(text: str) -> bool:
    digits = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"[0-9]{9}X|[0-9]{10}", digits):
        return False
    values = [10 if c == "X" else int(c) for c in digits]
    return sum((index + 1) * value for index, value in enumerate(values)) % 11 == 0


def _isbn13(text: str) -> bool:
    digits = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"[0-9]{13}", digits):
        return False
    return sum(int(c) * (3 if index % 2 else 1) for index, c in enumerate(digits)) % 10 == 0


def _is_credit_card(text: str) -> bool:
    digits = re.sub(r"[^0-9]", "", text)
    if not _CREDIT_CARD.match(digits):
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_uri(text: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) is not None or text.startswith("/")


def _is_hostname(text: str) -> bool:
    return bool(_HOSTNAME.match(text)) and len(text) <= 255 and all(len(part) <= 63 for part in text.split("."))


CHECKS: dict[str, Callable[[str], bool]] = {
    "bsonobjectid": _matches(r"^[0-9a-fA-F]{24}$"),
    "uri": _is_uri,
    "email": _matches(r"^([^@\s<>]+@[^@\s<>]+|[^<>]*<[^@\s<>]+@[^@\s<>]+>)$"),
    "hostname": _is_hostname,
    "ipv4": lambda text: _is_ip(text, "."),
    "ipv6": lambda text: _is_ip(text, ":"),
    "cidr": _is_cidr,
    "mac": _matches(_MAC.pattern),
    "uuid": _matches(_UUID % ("[0-9a-f]", "[0-9a-f]")),
    "uuid3": _matches(_UUID % ("3", "[0-9a-f]")),
    "uuid4": _matches(_UUID % ("4", "[89ab]")),
    "uuid5": _matches(_UUID % ("5", "[89ab]")),
    "isbn": lambda text: _isbn10(text) or _isbn13(text),
    "isbn10": _isbn10,
    "isbn13": _isbn13,
    "creditcard": _is_credit_card,
    "ssn": _matches(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$"),
    "hexcolor": _matches(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"),
    "rgbcolor": _matches(rf"^rgb\(\s*{_OCTET}\s*,\s*{_OCTET}\s*,\s*{_OCTET}\s*\)$"),
    "byte": _is_base64,
    "password": lambda _text: True,
    "date": _is_date,
    "duration": _is_duration,
    "datetime": _is_datetime,
}
"""Every format apiextensions keeps, by its normalized name (`date-time` is `datetime`)."""


def supported(name: str | None) -> str:
    """The format as the validator sees it: unchanged when kube-apiserver keeps it, else empty."""
    return name if name and name.replace("-", "") in CHECKS else ""


def conforms(name: str, text: str) -> bool:
    """Whether a string is of a (supported) format."""
    return CHECKS[name.replace("-", "")](text)
