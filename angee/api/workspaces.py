"""Wire types of workspace status, preflight and the Files API (operator-and-cli §1.3, templates §5, §9).

``WorkspaceRef`` lives in :mod:`angee.api` (the stack status uses it too). REST / CLI ``--json`` use these
snake_case names; fields declared with ``opt()`` are omitted when empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from angee.api import StackStatus, WorkspaceLeaseInfo, opt
from angee.api.sources import SourceState


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
    """A file's bytes (operator-and-cli §1.3 FileContent; templates §9): ``content`` is UTF-8 text when the
    bytes decode, else base64 (``encoding`` says which). The §9 source-scoped form also carries ``source``
    and ``etag`` (= ``sha256``, hex SHA-256 of the bytes)."""

    path: str
    source: str = opt("")
    size: int = 0
    sha256: str = ""
    encoding: str = "utf-8"
    content: str = ""
    etag: str = opt("")


@dataclass
class FileRef:
    """One entry under a Files scope (§1.3 FileRef): ``sha256`` for regular files in stat/write replies,
    ``target`` for symlinks. The §9 source-scoped form also carries ``source`` and ``etag``."""

    path: str
    source: str = opt("")
    etag: str = opt("")
    name: str = ""
    type: str = "file"
    size: int = 0
    mode: str = "0644"
    modified_at: str = ""
    sha256: str = opt("")
    target: str = opt("")


@dataclass
class GitOpsLink:
    """One workspace slot as an edge of the topology (§6): ``id`` = ``<workspace>:<slot>``."""

    id: str
    source: str
    workspace: str
    slot: str
    kind: str
    mode: str = opt("")
    branch: str = opt("")
    ref: str = opt("")
    path: str = ""
    exists: bool = False
    state: str = ""
    current_ref: str = opt("")
    dirty: bool = False
    upstream: str = opt("")
    ahead: int = opt(0)
    behind: int = opt(0)
    pushed: bool = True
    unpushed_reason: str = opt("")
    error: str = opt("")


@dataclass
class GitOpsSummary:
    """Counters of the topology (§6); every field always present."""

    sources: int = 0
    workspaces: int = 0
    worktrees: int = 0
    clean: int = 0
    dirty: int = 0
    ahead: int = 0
    behind: int = 0
    diverged: int = 0
    branch_mismatch: int = 0
    missing: int = 0
    error: int = 0
    unpushed: int = 0


@dataclass
class GitOpsTopology:
    """Sources, workspaces and the links between them, with a summary (§6)."""

    root: str
    name: str
    sources: list[SourceState] = field(default_factory=list)
    workspaces: list[WorkspaceStatus] = field(default_factory=list)
    links: list[GitOpsLink] = field(default_factory=list)
    summary: GitOpsSummary = field(default_factory=GitOpsSummary)
