"""Query parameters read the way kube-apiserver's conversion reads them.

A boolean parameter is true for any value but `0` and `false` (in any case), the empty one included,
so `?follow`, `follow=True` (the Python client) and `follow=true` (kubectl) all follow; a number that
does not parse is a 400. One reader per type, used by every handler, so no parameter is read another
way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kfval.embedded.clock import parse_rfc3339
from kfval.embedded.errors import BadRequestError

FALSE_VALUES = frozenset({"0", "false"})


def flag(query: Mapping[str, str], name: str) -> bool:
    """`Convert_Slice_string_To_bool`: absent is false; `0` and `false` (any case) are false; the rest true."""
    value = query.get(name)
    return value is not None and value.lower() not in FALSE_VALUES


def integer(query: Mapping[str, str], name: str) -> int | None:
    """An integer parameter, None when absent or empty; 400 when it is not a number."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as error:
        raise BadRequestError(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from error


def timestamp(query: Mapping[str, str], name: str) -> datetime | None:
    """An RFC 3339 time parameter (`sinceTime`), None when absent; 400 when it does not parse."""
    raw = query.get(name)
    if not raw:
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError as error:
        raise BadRequestError(f'parsing time "{raw}" as "2006-01-02T15:04:05Z07:00": cannot parse') from error


GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
"""What Go's strconv.ParseBool reads as true; `pretty` is parsed with it (anything unparsable is false)."""
PRETTY_USER_AGENTS = ("curl", "Wget", "Mozilla/5.0")


def pretty(query: Mapping[str, str], user_agent: str) -> bool:
    """Indented JSON, as `isPrettyPrint` decides: a non-empty `pretty` parameter, else curl, wget and browsers."""
    if query.get("pretty"):
        return query["pretty"] in GO_TRUE
    return user_agent.startswith(PRETTY_USER_AGENTS)
