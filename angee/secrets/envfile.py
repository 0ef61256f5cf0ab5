"""The env-file format (spec manifest-and-runtime §7.2): strict and lenient readers, the quoting writer.

The same files serve the env-file secrets backend and the runtimes' ``--env-file``, so the writer only
emits quoting that docker compose v1 and v2 read identically.
"""

from __future__ import annotations

import re

from angee.errors import RuntimeFailure
from angee.fsutil import write_file_atomic

KEY_RE = re.compile(r"[A-Za-z0-9_.-]+")
_SIMPLE_ESCAPES = {
    "\\": "\\",
    '"': '"',
    "'": "'",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
_HEX = "0123456789abcdefABCDEF"
_OCT = "01234567"


class EnvFileError(RuntimeFailure):
    """A line of an env file cannot be read; the message is ``<path>:<line>: <reason>`` (never a value)."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


def _unescape_double(body: str) -> str | None:
    """Decode the inside of a ``"…"`` value; ``None`` when it holds an invalid escape or a bare ``"``."""
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == '"':
            return None
        if c != "\\":
            try:
                out += c.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                return None
            i += 1
            continue
        if i + 1 >= n:
            return None
        e = body[i + 1]
        if e in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[e].encode()
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or any(d not in _HEX for d in digits):
                return None
            code = int(digits, 16)
            if e == "x":
                out.append(code)
            elif code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return None
            else:
                out += chr(code).encode("utf-8")
            i += 2 + width
        elif e in _OCT:
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or any(d not in _OCT for d in digits) or int(digits, 8) > 255:
                return None
            out.append(int(digits, 8))
            i += 4
        else:
            return None
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None


def unquote_value(raw: str) -> str:
    """Decode one trimmed value: ``'…'`` and `` `…` `` literal, ``"…"`` unescaped, anything else raw."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'`":
        return raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        decoded = _unescape_double(raw[1:-1])
        return raw if decoded is None else decoded
    return raw


def _parse_line(line: str) -> tuple[str, str] | str | None:
    """``(key, value)``, ``None`` for a blank/comment line, or the reason the line is invalid."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    key, sep, value = line.partition("=")
    if not sep:
        return "missing '='"
    key = key.strip()
    if not key:
        return "secret key is empty"
    if not KEY_RE.fullmatch(key):
        bad = next(ch for ch in key if not KEY_RE.fullmatch(ch))
        return f"secret key \"{key}\" contains invalid character '{bad}'"
    return key, unquote_value(value.strip())


def parse_env(text: str, path: str, *, strict: bool = True) -> dict[str, str]:
    """Parse env-file text; strict raises :class:`EnvFileError` at the first bad line, lenient skips it.

    A repeated key keeps its last value.
    """
    entries: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        parsed = _parse_line(line)
        if parsed is None:
            continue
        if isinstance(parsed, str):
            if strict:
                raise EnvFileError(path, number, parsed)
            continue
        entries[parsed[0]] = parsed[1]
    return entries


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RuntimeFailure(f"read {path}: {exc.strerror or exc}") from exc


def read_env_file(path: str) -> dict[str, str]:
    """Strict read (the secrets store): a missing file is empty; a bad line raises ``<path>:<line>: …``."""
    text = _read_text(path)
    return {} if text is None else parse_env(text, path, strict=True)


def read_env_file_lenient(path: str) -> dict[str, str]:
    """Lenient read (runtime env, a service's ``env_file``): bad lines are skipped, a missing file is empty."""
    text = _read_text(path)
    return {} if text is None else parse_env(text, path, strict=False)


def quote_value(value: str) -> str:
    """``'value'`` when it has no ``'``, ``\\``, LF or CR; else ``"…"`` escaping ``\\ " LF CR``."""
    if not any(ch in value for ch in "'\\\n\r"):
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def format_env(entries: dict[str, str], *, keep_order: bool = False) -> str:
    """The whole file: ``KEY=VALUE\\n`` per entry, keys sorted by code point (or in the given order).

    ``keep_order`` serves ``run/secrets.env`` (§7.5), which is sorted by secret name, not by env var.
    """
    keys = list(entries) if keep_order else sorted(entries)
    return "".join(f"{key}={quote_value(entries[key])}\n" for key in keys)


def write_env_file(path: str, entries: dict[str, str], *, keep_order: bool = False) -> None:
    """Rewrite ``path`` whole (sorted unless ``keep_order``, quoted), mode 0600, atomically (temp+rename)."""
    write_file_atomic(path, format_env(entries, keep_order=keep_order).encode("utf-8", "surrogateescape"), mode=0o600)
