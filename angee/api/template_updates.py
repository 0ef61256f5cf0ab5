"""Wire types of the template re-render operations (spec templates-workspaces-git §7.3, §8.2).

``changes`` and ``conflicts`` reuse :class:`~angee.api.templates.TemplateChange` and
:class:`~angee.api.templates.TemplateConflict`: file paths are relative to the render target, manifest
keys read ``angee.yaml#<section>.<key>`` (stack) or ``services.<name>.<field>`` (service entry).
Manifest-level conflicts carry ``base``/``ours``/``theirs`` as canonical JSON texts (``null`` = absent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from angee.api.templates import TemplateChange, TemplateConflict


@dataclass
class StackTemplateUpdateResult:
    """``stack update --template``: ``changed`` = any change other than ``adopt``; ``manifest_diff`` is a
    unified diff (``--- a/angee.yaml`` / ``+++ b/angee.yaml``, 3 context lines) of the current manifest
    to the merged one, empty when ``angee.yaml`` stays byte-identical."""

    changed: bool = False
    changes: list[TemplateChange] = field(default_factory=list)
    conflicts: list[TemplateConflict] = field(default_factory=list)
    manifest_diff: str = ""


@dataclass
class ServiceTemplateUpdateResult:
    """``service update --template``: ``service`` is the service's ``angee.yaml`` entry after the update
    (canonical data, what a dry run would write)."""

    name: str
    service: dict[str, Any] = field(default_factory=dict)
    changed: bool = False
    changes: list[TemplateChange] = field(default_factory=list)
    conflicts: list[TemplateConflict] = field(default_factory=list)


__all__ = ["ServiceTemplateUpdateResult", "StackTemplateUpdateResult"]
