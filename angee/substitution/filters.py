"""The substitution filters of spec manifest-and-runtime §3.4 (``slug``, ``lower``, ``truncate(n)``, ...)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

from unidecode import unidecode

from angee.substitution.errors import SubstitutionError

FILTER_NAMES = (
    "slug",
    "lower",
    "upper",
    "local_part",
    "truncate",
    "default",
    "required",
    "b64encode",
    "replace",
)

_SLUG_REPLACEMENTS = {
    "&": "and",
    "@": "at",
    '"': "",
    "'": "",
    "\u2019": "",  # ’
    "\u2012": "-",  # ‒
    "\u2013": "-",  # –
    "\u2014": "-",  # —
    "\u2015": "-",  # ―
}
_SLUG_OUTSIDE = re.compile(r"[^A-Za-z0-9_-]")
_DASH_RUNS = re.compile(r"-{2,}")
_TRUNCATE_LENGTH = re.compile(r"\+?[0-9]+")


def slug(value: str) -> str:
    """Lower-case ASCII slug: ``Feat/Issue 123`` → ``feat-issue-123`` (``_`` kept)."""
    text = "".join(_SLUG_REPLACEMENTS.get(ch, ch) for ch in value.strip())
    text = unidecode(text).lower()
    text = _SLUG_OUTSIDE.sub("-", text)
    text = _DASH_RUNS.sub("-", text)
    return text.strip("-_")


def _simple_lower(ch: str) -> str:
    mapped = ch.lower()
    if len(mapped) == 1:
        return mapped
    # U+0130 is the only code point whose full lower-case mapping is longer than one
    # character; its simple mapping (UnicodeData) is plain ``i``.
    return "i" if ch == "\u0130" else ch


def _simple_upper(ch: str) -> str:
    mapped = ch.upper()
    if len(mapped) == 1:
        return mapped
    # Where the full upper-case mapping expands (``ß`` → ``SS``) the simple mapping is
    # either absent (keep the character) or, for the Greek iota-subscript letters, the
    # single-character title-case form (``ᾳ`` → ``ᾼ``).
    titled = ch.title()
    return titled if len(titled) == 1 else ch


def lower(value: str) -> str:
    """Per-code-point simple lower-case mapping (no multi-character expansions)."""
    return "".join(_simple_lower(ch) for ch in value)


def upper(value: str) -> str:
    """Per-code-point simple upper-case mapping: ``ß`` stays ``ß`` (never ``SS``)."""
    return "".join(_simple_upper(ch) for ch in value)


def _no_args(name: str, args: list[str]) -> None:
    if args:
        raise SubstitutionError(f"{name} accepts no arguments")


def _one_arg(name: str, args: list[str]) -> str:
    if len(args) != 1:
        raise SubstitutionError(f"{name} requires one argument")
    return args[0]


def _slug(value: str, args: list[str]) -> str:
    _no_args("slug", args)
    return slug(value)


def _lower(value: str, args: list[str]) -> str:
    _no_args("lower", args)
    return lower(value)


def _upper(value: str, args: list[str]) -> str:
    _no_args("upper", args)
    return upper(value)


def _local_part(value: str, args: list[str]) -> str:
    _no_args("local_part", args)
    return value.split("@", 1)[0]


def _truncate(value: str, args: list[str]) -> str:
    raw = _one_arg("truncate", args)
    if not _TRUNCATE_LENGTH.fullmatch(raw):
        raise SubstitutionError(f'invalid truncate length "{raw}"')
    return value[: int(raw)]


def _default(value: str, args: list[str]) -> str:
    fallback = _one_arg("default", args)
    return fallback if value == "" else value


def _required(value: str, args: list[str]) -> str:
    if len(args) > 1:
        raise SubstitutionError("required accepts zero or one argument")
    if value == "":
        raise SubstitutionError(args[0] if args and args[0] else "required value is empty")
    return value


def _b64encode(value: str, args: list[str]) -> str:
    _no_args("b64encode", args)
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _replace(value: str, args: list[str]) -> str:
    if len(args) != 2:
        raise SubstitutionError("replace requires two arguments")
    old, new = args
    if old == "":
        raise SubstitutionError("replace requires a non-empty search string")
    return value.replace(old, new)


_FILTERS: dict[str, Callable[[str, list[str]], str]] = {
    "slug": _slug,
    "lower": _lower,
    "upper": _upper,
    "local_part": _local_part,
    "truncate": _truncate,
    "default": _default,
    "required": _required,
    "b64encode": _b64encode,
    "replace": _replace,
}


def apply_filter(value: str, name: str, args: list[str]) -> str:
    """Apply one filter by name; unknown names and wrong arities raise ``SubstitutionError``."""
    func = _FILTERS.get(name)
    if func is None:
        raise SubstitutionError(f'unknown filter "{name}"')
    return func(value, args)
