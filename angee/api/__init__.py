"""Wire types: the plain dataclasses every Platform operation returns.

REST bodies and CLI ``--json`` use these field names (snake_case). A field declared with
``opt()`` is the contract's ``key?``: omitted when zero-valued (``""``, ``0``, ``False``, ``None``,
empty list/map). Every other field is always present; lists are ``[]``, never ``null``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


def opt(default: Any = None, **kw: Any) -> Any:
    """A ``key?`` field: omitted from the wire form when zero-valued."""
    if default is None and "default_factory" not in kw:
        kw["default"] = None
    elif "default_factory" not in kw:
        kw["default"] = default
    return field(metadata={"omit_empty": True}, **kw)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value is False or value == 0 and not isinstance(value, bool) or (
        isinstance(value, (list, dict, tuple)) and len(value) == 0
    )


def to_wire(value: Any) -> Any:
    """Convert a wire dataclass (or a structure of them) into JSON-ready snake_case data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.metadata.get("omit_empty") and _empty(v):
                continue
            out[f.metadata.get("wire", f.name)] = to_wire(v)
        return out
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """The CLI ``--json`` rendering: 2-space indent and a trailing newline."""
    return json.dumps(to_wire(value), indent=2, ensure_ascii=False) + "\n"


@dataclass
class MutationResult:
    status: str
    name: str = opt("")
    message: str = opt("")


@dataclass
class ServiceState:
    name: str
    runtime: str
    status: str = "declared"
    health: str = opt("")


@dataclass
class JobState:
    name: str
    runtime: str


@dataclass
class WorkspaceLeaseInfo:
    owner: str
    created_at: str
    expires_at: str = opt("")


@dataclass
class WorkspaceRef:
    name: str
    path: str
    template: str
    chain_root: str = opt("")
    allocations: dict[str, int] = opt(default_factory=dict)
    process_compose_port: int = opt(0)
    playwright_mcp_name: str = opt("")
    playwright_mcp_url: str = opt("")
    ttl: str = opt("")
    ttl_expires_at: str = opt("")
    lease: WorkspaceLeaseInfo | None = opt()
    pool: str = opt("")


@dataclass
class StackStatus:
    root: str
    name: str
    services: dict[str, ServiceState] = field(default_factory=dict)
    jobs: dict[str, JobState] = field(default_factory=dict)
    workspaces: dict[str, WorkspaceRef] = field(default_factory=dict)


@dataclass
class SecretRef:
    name: str
    declared: bool
    has_value: bool
    required: bool = opt(False)
    generated: bool = opt(False)
    import_: str = field(default="", metadata={"omit_empty": True, "wire": "import"})
    env_var: str = opt("")


@dataclass
class SecretValue:
    name: str
    value: str


@dataclass
class PluginInfo:
    """One installed plugin as ``angee plugins`` lists it."""

    name: str
    version: str
    distribution: str
    builtin: bool
    module: str
    provides: dict[str, list[str]] = field(default_factory=dict)
    error: str = opt("")


@dataclass
class DoctorCheck:
    name: str
    status: str
    detail: str
    hint: str = opt("")


@dataclass
class DoctorSummary:
    ok: int = 0
    warnings: int = 0
    errors: int = 0


@dataclass
class DoctorReport:
    version: str
    root: str
    checks: list[DoctorCheck] = field(default_factory=list)
    summary: DoctorSummary = field(default_factory=DoctorSummary)
