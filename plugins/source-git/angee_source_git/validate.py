"""Refuse names, refs and branches git could misread, before any git process starts.

A value beginning with ``-`` would be parsed as an option; ``..`` would turn a ref into a range or
walk out of ``refs/``; spaces and control characters never belong in a ref and break one-line output.
"""

from __future__ import annotations

import unicodedata

from angee.errors import InvalidInput


def _shown(value: str) -> str:
    """The value quoted for a one-line message, control characters escaped."""
    escaped = "".join(
        ch if not _is_control(ch) else ch.encode("unicode_escape").decode("ascii") for ch in value
    )
    return '"' + escaped.replace('"', '\\"') + '"'


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def unsafe_reason(value: str) -> str:
    """Why ``value`` may not be handed to git as a name/ref/branch, or ``""`` when it is fine."""
    if value.startswith("-"):
        return f'{_shown(value)} must not begin with "-"'
    if ".." in value:
        return f'{_shown(value)} must not contain ".."'
    if any(ch.isspace() or _is_control(ch) for ch in value):
        return f"{_shown(value)} must not contain spaces or control characters"
    return ""


def check_git_arg(field: str, value: str) -> str:
    """Return ``value`` unchanged, or raise InvalidInput naming ``field`` (``ref``, ``branch``, ...)."""
    reason = unsafe_reason(value)
    if reason:
        raise InvalidInput(field, reason)
    return value


def check_git_args(**values: str) -> None:
    """:func:`check_git_arg` for each non-empty ``field=value`` pair, in the order given."""
    for field, value in values.items():
        if value:
            check_git_arg(field, value)
