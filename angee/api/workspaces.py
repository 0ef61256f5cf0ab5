"""Wire types of workspace status, preflight and the Files API (operator-and-cli §1.3, templates §5, §9).

``WorkspaceRef`` lives in :mod:`angee.api` (the stack status uses it too). REST / CLI ``--json`` use these
snake_case names; fields declared with ``opt()`` are omitted when empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from angee.api import StackStatus, WorkspaceLeaseInfo, opt


@dataclass
class WorkspaceSourceStatus:
    """One slot of a workspace as it is on disk (§5.6); ``dirty`` and ``pushed`` are always present."""

    slot: str
    source: str
    kind: str
    mode: str = opt("")
    branch: str = opt("")
    ref: str = opt("")
    subpath: str = opt("")
    path: str = ""
    exists: bool = False
    state: str = "missing"
    current_ref: str = opt("")
    dirty: bool = False
    upstream: str = opt("")
    ahead: int = opt(0)
    behind: int = opt(0)
    pushed: bool = True
    unpushed_reason: str = opt("")
    error: str = opt("")


@dataclass
class WorkspaceMountRef:
    """A service or job that mounts or references the workspace: ``field`` is ``mounts``, ``workdir``
    or ``env.<KEY>``; ``value`` the referencing text."""

    kind: str
    name: str
    field: str
    value: str


@dataclass
class WorkspacePersistPath:
    subpath: str
    scope: str


@dataclass
class WorkspaceStatus:
    """The detailed state of one workspace (§5.6). ``state`` ∈ ``ready missing error expired discrepancy``."""

    name: str
    path: str
    exists: bool
    state: str
    error: str = opt("")
    template: str = ""
    inputs: dict[str, str] = opt(default_factory=dict)
    sources: list[WorkspaceSourceStatus] = opt(default_factory=list)
    chain: list[str] = opt(default_factory=list)
    chain_root: str = opt("")
    allocations: dict[str, int] = opt(default_factory=dict)
    process_compose_port: int = opt(0)
    playwright_mcp_name: str = opt("")
    playwright_mcp_url: str = opt("")
    persist_paths: dict[str, WorkspacePersistPath] = opt(default_factory=dict)
    ttl: str = opt("")
    ttl_expires_at: str = opt("")
    expired: bool = False
    mounted_by: list[WorkspaceMountRef] = opt(default_factory=list)
    inner_stack: StackStatus | None = opt()
    inner_error: str = opt("")
    lease: WorkspaceLeaseInfo | None = opt()
    pool: str = opt("")
    pool_state: str = opt("")
    reap_blocked_reason: str = opt("")


@dataclass
class PreflightFailure:
    """One invalid input of a preflight: ``field`` is the input name (or ``ttl`` / ``name``)."""

    field: str
    reason: str


@dataclass
class WorkspaceCreatePreflight:
    """What a workspace create would use, and what is missing or invalid (§5.4); ``ok`` = both empty."""

    ok: bool
    template: str
    resolved_template: str
    effective_inputs: dict[str, str] = field(default_factory=dict)
    missing_required: list[str] = opt(default_factory=list)
    invalid_inputs: list[PreflightFailure] = opt(default_factory=list)


@dataclass
class FileContent:
    """A text file of a stack source (§9): ``etag`` = ``sha256`` = hex SHA-256 of the bytes."""

    path: str
    source: str
    content: str
    etag: str
    size: int = 0
    sha256: str = ""
    encoding: str = "utf-8"


@dataclass
class FileRef:
    """A file of a stack source after a write or stat: ``etag`` = hex SHA-256 of its bytes (files only)."""

    path: str
    source: str
    etag: str = opt("")
    name: str = ""
    type: str = "file"
    size: int = 0
    mode: str = "0644"
    modified_at: str = ""
    sha256: str = opt("")
    target: str = opt("")
