"""The GraphQL operations added by templates-workspaces-git §12 over the baseline ``operator.graphql``.

Template re-renders (§7.3 ``stackUpdateFromTemplate``, §8.2 ``serviceUpdateFromTemplate``), the Files API
(§9 ``file``, ``fileWrite``) and the ephemeral workspace tier (§11.6 leases, pool acquire, pools, reap):
their types and their resolvers. Like every resolver, each one parses its arguments, makes one Platform
call through :func:`~angee.operator.graphql.resolvers.call` (``… is not implemented yet`` until the
method lands) and shapes the result.
"""

from __future__ import annotations

from typing import Any

import strawberry

from angee.errors import AngeeError
from angee.operator.graphql import types as t
from angee.operator.graphql.convert import graph, graph_list, json_text_value, key_values, shaper
from angee.operator.graphql.resolvers import RequestContext, call

Info = strawberry.Info


# --------------------------------------------------------------------------- types


@strawberry.type
class TemplateChange:
    """One reconciled path: ``kind`` is ``add``, ``modify``, ``delete`` or ``adopt``."""

    path: str
    kind: str


@strawberry.type
class TemplateConflict:
    """A path that cannot be reconciled without ``overwrite``; manifest conflicts carry the three sides as
    JSON values (``null`` = absent)."""

    path: str
    reason: str
    base: t.JSON | None
    ours: t.JSON | None
    theirs: t.JSON | None


@shaper(TemplateConflict)
def _conflict_sides(raw: dict[str, Any], shaped: dict[str, Any]) -> None:
    """The wire form carries ``base``/``ours``/``theirs`` as canonical JSON texts; GraphQL serves values."""
    for side in ("base", "ours", "theirs"):
        shaped[side] = json_text_value(raw.get(side))


@strawberry.type
class StackTemplateUpdateResult:
    changed: bool
    changes: list[TemplateChange]
    conflicts: list[TemplateConflict]
    manifest_diff: str


@strawberry.type
class ServiceTemplateUpdateResult:
    name: str
    service: t.JSON | None
    changed: bool
    changes: list[TemplateChange]
    conflicts: list[TemplateConflict]


@strawberry.type
class FileContent:
    """A UTF-8 text file of a stack source; ``etag`` = ``sha256`` = hex SHA-256 of its bytes."""

    path: str
    source: str
    content: str
    etag: str
    size: int
    sha256: str
    encoding: str


@strawberry.type
class FileRef:
    """A file of a stack source after a write: ``etag`` = hex SHA-256 of its bytes."""

    path: str
    source: str
    etag: str
    name: str | None
    type: str | None
    size: int | None
    mode: str | None
    modified_at: str | None


@strawberry.type
class WorkspaceAcquireResult:
    """A pool acquire: ``warm`` = a ready member was handed out, else it was created on demand."""

    workspace: t.WorkspaceRef
    warm: bool


@strawberry.type
class WorkspacePoolMember:
    name: str
    state: str
    owner: str | None
    expires_at: str | None


@strawberry.type
class WorkspacePoolStatus:
    name: str
    template: str
    size: int
    ttl: str
    ready: int
    leased: int
    provisioning: int
    recycling: int
    failed: int
    members: list[WorkspacePoolMember]


@strawberry.type
class WorkspaceReapResult:
    """One expired workspace a sweep looked at: ``action`` ∈ ``destroyed recycled kept skipped``."""

    name: str
    action: str
    reason: str


@strawberry.input
class StackTemplateUpdateInput:
    dry_run: bool | None = None
    overwrite: bool | None = None
    inputs: list[t.KeyValueInput] | None = None


@strawberry.input
class ServiceTemplateUpdateInput:
    inputs: list[t.KeyValueInput] | None = None
    dry_run: bool | None = None
    overwrite: bool | None = None


@strawberry.input
class WorkspaceLeaseInput:
    owner: str
    ttl: str | None = None


# --------------------------------------------------------------------------- resolvers: templates (§7.3, §8.2)


def _p(info: Info) -> Any:
    return info.context.platform


def stack_update_from_template(
    info: Info, input: StackTemplateUpdateInput | None = None
) -> StackTemplateUpdateResult:
    result = call(
        _p(info),
        "stackUpdateFromTemplate",
        "stack_update_from_template",
        dry_run=bool(input and input.dry_run),
        overwrite=bool(input and input.overwrite),
        inputs=key_values(input.inputs) if input and input.inputs else None,
    )
    return graph(result, StackTemplateUpdateResult)  # type: ignore[return-value]


def service_update_from_template(
    info: Info, name: str, input: ServiceTemplateUpdateInput | None = None
) -> ServiceTemplateUpdateResult:
    result = call(
        _p(info),
        "serviceUpdateFromTemplate",
        "service_update_from_template",
        name,
        inputs=key_values(input.inputs) if input and input.inputs else None,
        dry_run=bool(input and input.dry_run),
        overwrite=bool(input and input.overwrite),
    )
    return graph(result, ServiceTemplateUpdateResult)  # type: ignore[return-value]


# --------------------------------------------------------------------------- resolvers: files (§9)


def file_content(info: Info, source: str, path: str) -> FileContent:
    return graph(call(_p(info), "file", "file_read", source, path), FileContent)  # type: ignore[return-value]


def file_write(info: Info, source: str, path: str, content: str, etag: str | None = None) -> FileRef:
    """Write a file (compare-and-set on a non-empty ``etag``); audited like the REST write (§4.6)."""
    from angee.operator.auth import emit_audit, file_audit_line

    ctx: RequestContext = info.context
    where = f"{source}/{path}" if source else path
    try:
        result = call(
            ctx.platform,
            "fileWrite",
            "file_write",
            source,
            path,
            content,
            etag=etag or "",
            remote_addr=ctx.remote,
        )
    except AngeeError as err:
        emit_audit(file_audit_line("write", where, "", ctx.remote, str(err), ctx.actor))
        raise
    emit_audit(file_audit_line("write", where, "", ctx.remote, None, ctx.actor))
    return graph(result, FileRef)  # type: ignore[return-value]


# --------------------------------------------------------------------------- resolvers: leases and the pool (§11.6)


def workspace_lease_acquire(info: Info, name: str, input: WorkspaceLeaseInput) -> t.WorkspaceLease:
    result = call(
        _p(info), "workspaceLeaseAcquire", "workspace_lease", name, input.owner, ttl=input.ttl or ""
    )
    return graph(result, t.WorkspaceLease)  # type: ignore[return-value]


def workspace_lease_release(
    info: Info, name: str, owner: str, discard: bool | None = None
) -> t.MutationResult:
    result = call(_p(info), "workspaceLeaseRelease", "workspace_release", name, owner, discard=bool(discard))
    return graph(result, t.MutationResult)  # type: ignore[return-value]


def workspace_pool_acquire(info: Info, template: str, input: WorkspaceLeaseInput) -> WorkspaceAcquireResult:
    result = call(
        _p(info), "workspacePoolAcquire", "workspace_pool_acquire", template, input.owner, ttl=input.ttl or ""
    )
    return graph(result, WorkspaceAcquireResult)  # type: ignore[return-value]


def workspace_pools(info: Info) -> list[WorkspacePoolStatus]:
    return graph_list(call(_p(info), "workspacePools", "workspace_pools"), WorkspacePoolStatus)  # type: ignore[return-value]


def workspace_reap(info: Info, dry_run: bool | None = None) -> list[WorkspaceReapResult]:
    result = call(_p(info), "workspaceReap", "workspace_reap", dry_run=bool(dry_run))
    return graph_list(result, WorkspaceReapResult)  # type: ignore[return-value]
