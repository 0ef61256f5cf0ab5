"""Wire types of template introspection, stack init and template reconciliation (spec §2.3, §3.8, §7.1).

REST / CLI ``--json`` use these snake_case names; GraphQL maps them to the SDL's camelCase. The
``description``, ``help`` and ``choices`` fields are additions over the baseline SDL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from angee.api import opt


@dataclass
class TemplateInputChoice:
    """One allowed value of an input: ``label`` is what a UI shows, ``value`` what is sent
    (a plain list of choices gives ``label == value``)."""

    label: str
    value: str


@dataclass
class TemplateInputDescriptor:
    """One input of a template, merged from its ``_angee.inputs`` entry and Copier question (§1.2)."""

    name: str
    type: str = opt("")
    required: bool = False
    immutable: bool = False
    generated: bool = False
    default: str | None = opt()
    question: bool = False
    help: str = opt("")
    choices: list[TemplateInputChoice] = opt(default_factory=list)


@dataclass
class TemplateDescriptor:
    """A resolvable template: ``ref`` as recorded, its kind, display data, absolute dir and inputs."""

    ref: str
    kind: str
    name: str = opt("")
    description: str = opt("")
    path: str = ""
    inputs: list[TemplateInputDescriptor] = field(default_factory=list)


@dataclass
class StackInitResult:
    """``stackInit``: ``root`` is the absolute prepared stack root (where ``angee.yaml`` now lives)."""

    status: str = "initialized"
    template: str = ""
    root: str = ""


@dataclass
class TemplateChange:
    """One reconciled path: ``kind`` is ``add``, ``modify``, ``delete`` or ``adopt`` (§3.8)."""

    path: str
    kind: str


@dataclass
class TemplateConflict:
    """A path that cannot be reconciled without ``overwrite``.

    ``reason`` is ``untracked-different``, ``locally-modified`` or ``type-changed``. ``base``, ``ours`` and
    ``theirs`` are canonical JSON texts used by manifest-level conflicts (§7.3, ``null`` = absent); file
    conflicts leave them unset.
    """

    path: str
    reason: str
    base: str | None = opt()
    ours: str | None = opt()
    theirs: str | None = opt()
