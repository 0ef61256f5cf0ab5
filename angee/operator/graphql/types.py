"""Strawberry types mirroring ``operator.graphql`` (names camel-cased by strawberry from snake_case).

The additive fields of templates-workspaces-git §12 on baseline types (lease/pool fields, template
``description``/``help``/``choices``, ``sync``/``overwrite`` inputs) live here with their types; the
types of the §12 operations are in :mod:`.additions`.

Values flowing through the schema are plain dicts keyed by the snake_case field names (the wire form
of :mod:`angee.api` with the GraphQL differences of spec §3.7 applied by :mod:`.convert`); the
schema's default resolver reads dict keys, so a key absent from a dict resolves to ``null``.
"""

from __future__ import annotations

from typing import Any, NewType

import strawberry

JSON = NewType("JSON", object)


def _parse_json_literal(node: Any, variables: dict[str, Any] | None = None) -> Any:
    from graphql import value_from_ast_untyped

    return value_from_ast_untyped(node, variables)


JSON_SCALAR = strawberry.scalar(
    name="JSON", serialize=lambda v: v, parse_value=lambda v: v, parse_literal=_parse_json_literal
)


@strawberry.type
class KeyValue:
    key: str
    value: str


@strawberry.type
class ServiceState:
    name: str
    runtime: str
    status: str
    health: str | None


@strawberry.type
class JobState:
    name: str
    runtime: str


@strawberry.type
class WorkspaceLease:
    """Who holds a workspace until when (templates-workspaces-git §11.1); ``expired`` is computed at read
    time (a ``pool``-owned lease has no ``expiresAt`` and never expires)."""

    owner: str
    created_at: str
    expires_at: str | None
    expired: bool
    workspace: str | None


@strawberry.type
class WorkspaceRef:
    name: str
    path: str
    template: str
    process_compose_port: int | None
    playwright_mcp_name: str | None
    playwright_mcp_url: str | None
    ttl: str | None
    ttl_expires_at: str | None
    lease: WorkspaceLease | None
    pool: str | None


@strawberry.type
class CommitRef:
    sha: str
    parents: list[str]
    refs: list[str]
    time: str
    summary: str
    author: str | None


@strawberry.type
class SourceState:
    name: str
    slot: str | None
    kind: str
    path: str
    exists: bool
    state: str | None
    branch: str | None
    ref: str | None
    current_ref: str | None
    dirty: bool | None
    upstream: str | None
    ahead: int | None
    behind: int | None
    pushed: bool | None
    unpushed_reason: str | None
    error: str | None
    commits: list[CommitRef] | None


@strawberry.type
class DiffHunk:
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str | None
    body: str


@strawberry.type
class DiffFile:
    old_path: str | None
    new_path: str | None
    mode: str | None
    is_binary: bool
    is_new: bool
    is_deleted: bool
    is_rename: bool
    hunks: list[DiffHunk]


@strawberry.type
class WorkspaceSourceStatus:
    slot: str
    source: str
    kind: str
    mode: str | None
    branch: str | None
    ref: str | None
    subpath: str | None
    path: str
    exists: bool
    state: str
    current_ref: str | None
    dirty: bool
    upstream: str | None
    ahead: int | None
    behind: int | None
    pushed: bool
    unpushed_reason: str | None
    error: str | None


@strawberry.type
class GitOpResult:
    ok: bool
    conflicted: bool
    conflict_files: list[str]
    message: str
    source: WorkspaceSourceStatus | None


@strawberry.type
class WorkspaceMountRef:
    kind: str
    name: str
    field: str
    value: str


@strawberry.type
class GitOpsLink:
    id: str
    source: str
    workspace: str
    slot: str
    kind: str
    mode: str | None
    branch: str | None
    ref: str | None
    path: str
    exists: bool
    state: str
    current_ref: str | None
    dirty: bool
    upstream: str | None
    ahead: int | None
    behind: int | None
    pushed: bool
    unpushed_reason: str | None
    error: str | None


@strawberry.type
class GitOpsSummary:
    sources: int
    workspaces: int
    worktrees: int
    clean: int
    dirty: int
    ahead: int
    behind: int
    diverged: int
    branch_mismatch: int
    missing: int
    error: int
    unpushed: int


@strawberry.type
class StackStatus:
    root: str
    name: str
    services: list[ServiceState]
    jobs: list[JobState]
    workspaces: list[WorkspaceRef]


@strawberry.type
class WorkspaceStatus:
    name: str
    path: str
    exists: bool
    state: str
    error: str | None
    template: str
    inputs: JSON | None
    sources: list[WorkspaceSourceStatus]
    chain: list[str]
    chain_root: str | None
    allocations: JSON | None
    process_compose_port: int | None
    playwright_mcp_name: str | None
    playwright_mcp_url: str | None
    persist_paths: JSON | None
    ttl: str | None
    ttl_expires_at: str | None
    expired: bool
    mounted_by: list[WorkspaceMountRef]
    inner_stack: StackStatus | None
    inner_error: str | None
    lease: WorkspaceLease | None
    pool: str | None
    pool_state: str | None
    reap_blocked_reason: str | None


@strawberry.type
class GitOpsTopology:
    root: str
    name: str
    sources: list[SourceState]
    workspaces: list[WorkspaceStatus]
    links: list[GitOpsLink]
    summary: GitOpsSummary


@strawberry.type
class ServiceEndpoint:
    routed: bool
    url: str
    internal_host: str
    internal_port: int


@strawberry.type
class RouteRef:
    service: str
    url: str


@strawberry.type
class IngressStatus:
    type: str
    domain: str | None
    routes: list[RouteRef]


@strawberry.type
class CompiledStack:
    compose: JSON | None
    process_compose: JSON | None
    secret_env_vars: list[KeyValue]


@strawberry.type
class MutationResult:
    status: str
    name: str | None
    message: str | None


@strawberry.type
class StackInitResult:
    status: str
    template: str
    root: str


@strawberry.type
class PreflightFailure:
    field: str
    reason: str


@strawberry.type
class WorkspaceCreatePreflight:
    ok: bool
    template: str
    resolved_template: str
    effective_inputs: list[KeyValue]
    missing_required: list[str]
    invalid_inputs: list[PreflightFailure]


@strawberry.type
class TemplateInputChoice:
    """One allowed value of a template input: ``label`` is shown, ``value`` is sent."""

    label: str
    value: str


@strawberry.type
class TemplateInputDescriptor:
    name: str
    type: str | None
    required: bool
    immutable: bool
    generated: bool
    default: str | None
    question: bool
    help: str | None
    choices: list[TemplateInputChoice]


@strawberry.type
class TemplateDescriptor:
    ref: str
    kind: str
    name: str | None
    path: str
    inputs: list[TemplateInputDescriptor]
    description: str | None


@strawberry.type
class ConnectionToken:
    token: str
    actor: str
    expires_at: str


@strawberry.type
class SecretRef:
    name: str
    declared: bool
    has_value: bool
    required: bool | None
    generated: bool | None
    import_: str | None = strawberry.field(name="import")
    env_var: str | None


@strawberry.type
class SecretValue:
    name: str
    value: str


@strawberry.type
class StackSnapshot:
    health: MutationResult | None
    stack_status: StackStatus | None
    services: list[ServiceState]
    jobs: list[JobState]
    sources: list[SourceState]
    workspaces: list[WorkspaceRef]
    templates: list[TemplateDescriptor]
    secrets: list[SecretRef]
    git_ops_topology: GitOpsTopology | None


# --------------------------------------------------------------------------- inputs


@strawberry.input
class KeyValueInput:
    key: str
    value: str


@strawberry.input
class StackInitInput:
    template: str
    path: str | None = None
    inputs: list[KeyValueInput] | None = None
    force: bool | None = None


@strawberry.input
class StackRuntimeInput:
    services: list[str] | None = None
    build: bool | None = None


@strawberry.input
class ServiceInput:
    name: str | None = None
    runtime: str | None = None
    image: str | None = None
    command: list[str] | None = None
    mounts: list[str] | None = None
    env: list[KeyValueInput] | None = None
    ports: list[str] | None = None
    workdir: str | None = None
    start: bool | None = None


@strawberry.input
class WorkspaceCreateInput:
    template: str
    name: str | None = None
    inputs: list[KeyValueInput] | None = None
    ttl: str | None = None
    sync: bool | None = None


@strawberry.input
class ServiceCreateInput:
    template: str
    workspace: str
    inputs: list[KeyValueInput] | None = None
    name: str | None = None
    start: bool | None = None


@strawberry.input
class WorkspaceUpdateInput:
    inputs: list[KeyValueInput] | None = None
    ttl: str | None = None
    overwrite: bool | None = None
