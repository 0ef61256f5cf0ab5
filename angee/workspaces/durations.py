"""Duration strings (spec templates-workspaces-git §0): ``90s``, ``1h30m``, ``1.5h``, bare ``0``.

One or more ``<num>[.<frac>]<unit>`` groups with an optional sign; units ``ns us µs ms s m h`` (no days,
no ISO-8601). TTLs and lease durations must additionally be positive (**improvement**).
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction

from angee.errors import InvalidInput

#: Nanoseconds per unit; ``µs`` accepts both the micro sign (U+00B5) and Greek mu (U+03BC).
UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_GROUP = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]+)")


def _bad(text: str, field: str) -> InvalidInput:
    return InvalidInput(field, f'invalid duration "{text}"', message=f'{field}: invalid duration "{text}"')


def parse_duration_ns(text: str, field: str = "ttl") -> int:
    """Parse a duration string into signed nanoseconds (truncated); bad syntax → InvalidInput(field)."""
    raw = text
    text = text.strip()
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise _bad(raw, field)
    total = Fraction(0)
    pos = 0
    while pos < len(text):
        match = _GROUP.match(text, pos)
        if match is None:
            raise _bad(raw, field)
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not frac:
            raise _bad(raw, field)
        if unit not in UNITS_NS:
            raise _bad(raw, field)
        value = Fraction(int(whole or "0"))
        if frac:
            value += Fraction(int(frac), 10 ** len(frac))
        total += value * UNITS_NS[unit]
        pos = match.end()
    return sign * int(total)


def parse_duration(text: str, field: str = "ttl") -> timedelta:
    """A duration string as a :class:`timedelta` (microsecond precision); may be zero or negative."""
    return timedelta(microseconds=parse_duration_ns(text, field) // 1000)


def parse_ttl(text: str, field: str = "ttl") -> timedelta:
    """A TTL/lease duration: valid syntax and strictly positive, else InvalidInput(field)."""
    ns = parse_duration_ns(text, field)
    if ns <= 0:
        raise InvalidInput(
            field, "must be positive", message=f'{field}: duration "{text.strip()}" must be positive'
        )
    return timedelta(microseconds=max(ns // 1000, 1))
