"""Secret names and values: the env var a secret is exposed as (§5.6) and API input checks (§7.1)."""

from __future__ import annotations

import re

from angee.errors import InvalidInput

ENV_PREFIX = "ANGEE_SECRET_"
NAME_PATTERN = "^[A-Za-z0-9._-]{1,256}$"
_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,256}")
_ALNUM_RE = re.compile(r"[A-Za-z0-9]")
VALUE_CAP = 65536


def secret_env_var(name: str) -> str:
    """``ANGEE_SECRET_`` + the name upper-cased, non-alphanumerics as ``_``, trailing ``_`` stripped.

    ``postgres-password`` → ``ANGEE_SECRET_POSTGRES_PASSWORD``.
    """
    chars = [ch.upper() if ch.isascii() and ch.isalnum() else "_" for ch in name]
    return ENV_PREFIX + "".join(chars).rstrip("_")


def validate_secret_name(name: str) -> str:
    """Return ``name`` when it is a valid API secret name, else ``InvalidInput`` (field ``name``)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidInput("name", f"secret name must match {NAME_PATTERN}")
    if not _ALNUM_RE.search(name):
        raise InvalidInput("name", "secret name must contain an ASCII letter or digit")
    return name


def validate_secret_value(value: str) -> str:
    """Return ``value`` when it can be stored: non-empty, valid text, at most 65536 UTF-8 bytes."""
    if not isinstance(value, str) or value == "":
        raise InvalidInput("value", "value is empty; use secretDelete to remove")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput("value", "value is not valid UTF-8 text") from None
    if size > VALUE_CAP:
        raise InvalidInput("value", f"value exceeds {VALUE_CAP} byte cap")
    return value
