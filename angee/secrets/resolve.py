"""Secret resolution at StackPrepare and job run (spec manifest-and-runtime §7.3)."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets as _secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from angee.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    from angee.contracts import SecretsBackend
    from angee.manifest.model import Secret

DEFAULT_LENGTH = 32


def generate_secret(length: int = 0) -> str:
    """``length`` (0 → 32) CSPRNG bytes, base64url without padding, cut to the first ``length`` chars."""
    if length <= 0:
        length = DEFAULT_LENGTH
    encoded = base64.urlsafe_b64encode(_secrets.token_bytes(length)).decode("ascii").rstrip("=")
    return encoded[:length]


def import_variable(spec: str) -> str:
    """The env var named by an ``import`` (``env:NAME`` or bare ``NAME``)."""
    spec = spec.strip()
    return spec[len("env:") :].strip() if spec.startswith("env:") else spec


def _needs_persist(decl: Secret, environ: Mapping[str, str]) -> bool:
    if decl.import_ and environ.get(import_variable(decl.import_), ""):
        return True
    return bool(decl.generated)


def resolve_secrets(
    declared: Mapping[str, Secret],
    backend: SecretsBackend,
    environ: Mapping[str, str] | None = None,
    lock: Callable[[], AbstractContextManager[object]] | None = None,
) -> dict[str, str]:
    """Resolve every declared secret by name: stored value, then import, then generated (both persisted).

    A missing ``required`` secret raises ``InvalidInput``; others stay unresolved (absent from the result).
    ``lock`` is entered once, before the first value is persisted, and held until the end: under it the
    backend is read again so a value another process just stored wins over a fresh one.
    """
    env = os.environ if environ is None else environ
    resolved: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        locked = False
        for name in sorted(declared):
            decl = declared[name]
            value = backend.get(name) or None
            if value is None and lock is not None and not locked and _needs_persist(decl, env):
                stack.enter_context(lock())
                locked = True
                value = backend.get(name) or None
            if value is None and decl.import_:
                imported = env.get(import_variable(decl.import_), "")
                if imported:
                    backend.set(name, imported)
                    value = imported
            if value is None and decl.generated:
                value = generate_secret(decl.length)
                backend.set(name, value)
            if value is None:
                if decl.required:
                    raise InvalidInput(
                        f"secrets.{name}",
                        "required secret is missing",
                        message=f'required secret "{name}" is missing',
                    )
                continue
            resolved[name] = value
    return resolved
