"""Workspace names (spec templates-workspaces-git §5.2 step 5): explicit, or from the template's
``instance_naming`` ``{pattern, fallback, max_length}`` substituted with the create inputs."""

from __future__ import annotations

import re
from collections.abc import Mapping

from angee.errors import InvalidInput

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
#: Names that collide with literal REST routes under ``/workspaces/``.
RESERVED_NAMES = ("pool", "preflight", "reap")
DEFAULT_PATTERN = "${inputs.name | slug}"


def _invalid(name: str, why: str) -> InvalidInput:
    return InvalidInput("name", why, message=f'invalid workspace name "{name}": {why}')


def check_workspace_name(name: str) -> str:
    """Return ``name`` if it is a valid workspace name, else InvalidInput(field ``name``) saying why."""
    if not name:
        raise InvalidInput("name", "workspace name resolved empty", message="workspace name resolved empty")
    if not _NAME.match(name):
        raise _invalid(name, f"must match {NAME_PATTERN}")
    if ".." in name:
        raise _invalid(name, 'must not contain ".."')
    if name.endswith(".lock"):
        raise _invalid(name, 'must not end with ".lock"')
    if name in RESERVED_NAMES:
        raise _invalid(name, "is reserved")
    return name


def _cut(text: str, max_length: int) -> str:
    """Cut to ``max_length`` bytes (never splitting a UTF-8 character) when ``max_length`` > 0."""
    if max_length <= 0:
        return text
    return text.encode("utf-8")[:max_length].decode("utf-8", errors="ignore")


def _substitute(text: str, inputs: Mapping[str, str], where: str, optional: bool) -> str:
    from angee.substitution import SubstitutionError, substitute, template_context

    ctx = template_context("", inputs, optional_inputs=("name",) if optional else ())
    try:
        return substitute(text, ctx, where=where).strip()
    except SubstitutionError as err:
        raise InvalidInput("name", err.reason, message=f"workspace name: {err}") from None


def resolve_workspace_name(
    name: str | None, inputs: Mapping[str, str], *, pattern: str = "", fallback: str = "", max_length: int = 0
) -> str:
    """The workspace name: ``name`` when given, else ``pattern`` (default ``${inputs.name | slug}``),
    else ``fallback`` when the pattern is empty or yields nothing; cut to ``max_length`` bytes and trimmed
    of ``-``/``_``. The result is checked with :func:`check_workspace_name`."""
    given = (name or "").strip()
    if given:
        return check_workspace_name(given)
    result = ""
    if pattern.strip():
        result = _substitute(pattern, inputs, "instance_naming.pattern", optional=False)
    elif not pattern:
        result = _substitute(DEFAULT_PATTERN, inputs, "instance_naming.pattern", optional=True)
    if not result and fallback.strip():
        result = _substitute(fallback, inputs, "instance_naming.fallback", optional=False)
    result = _cut(result, max_length).strip("-_")
    return check_workspace_name(result)
