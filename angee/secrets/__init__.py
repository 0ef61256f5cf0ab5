"""Secrets in the kernel: names, the env-file format, resolution and the operator's audit lines.

Values never appear in errors or logs; only names, env var names and file positions do.
"""

from __future__ import annotations

from angee.secrets.envfile import (
    EnvFileError,
    format_env,
    parse_env,
    quote_value,
    read_env_file,
    read_env_file_lenient,
    write_env_file,
)
from angee.secrets.names import secret_env_var, validate_secret_name, validate_secret_value
from angee.secrets.resolve import generate_secret, resolve_secrets

_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def quote_audit_field(text: str) -> str:
    """``"text"`` with ``\\`` and ``"`` escaped and control characters written as escapes."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _CONTROL_ESCAPES:
            out.append(_CONTROL_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif 0x80 <= ord(ch) < 0xA0 or 0xD800 <= ord(ch) <= 0xDFFF or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def audit_line(op: str, name: str, remote: str, reason: str | None = None, actor: str | None = None) -> str:
    """The operator's stderr audit line for a secret ``set``/``delete`` call (operator-and-cli §4.6).

    ``reason`` marks a rejected call; ``actor`` is the token subject when an operator token was used.
    """
    head = f"operator: secret {op}" if reason is None else f"operator: secret {op} attempt failed"
    line = f"{head} name={quote_audit_field(name)} remote={quote_audit_field(remote)}"
    if reason is not None:
        line += f" reason={quote_audit_field(reason)}"
    if actor:
        line += f" actor={quote_audit_field(actor)}"
    return line


__all__ = [
    "EnvFileError",
    "audit_line",
    "format_env",
    "generate_secret",
    "parse_env",
    "quote_audit_field",
    "quote_value",
    "read_env_file",
    "read_env_file_lenient",
    "resolve_secrets",
    "secret_env_var",
    "validate_secret_name",
    "validate_secret_value",
    "write_env_file",
]
