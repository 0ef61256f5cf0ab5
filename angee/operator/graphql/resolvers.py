"""GraphQL resolvers: each one parses its arguments, makes one Platform call and shapes the result.

Resolvers receive the :class:`RequestContext` as ``info.context``. A Platform method that does not
exist yet answers ``<field> is not implemented yet`` (code ``INTERNAL``). Reads used by the event hub
(snapshot, topology, workspace status) are plain functions of the Platform, shared with the queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry

from angee.errors import AngeeError, NotFound, NotImplementedYet
from angee.operator.graphql import types as t
from angee.operator.graphql.convert import graph, graph_list, key_values
from angee.operator.graphql.logs import bounded_log

Info = strawberry.Info


@dataclass
class RequestContext:
    """What resolvers see as ``info.context``: the Platform, the hub and the caller."""

    platform: Any
    hub: Any = None
    operator: Any = None
    actor: str = ""
    scope: list[str] = field(default_factory=list)
    remote: str = ""


def call(platform: Any, op: str, method: str | tuple[str, ...], /, *args: Any, **kwargs: Any) -> Any:
    """``platform.<method>(*args, **kwargs)`` (the first of several names that exists); a method that has
    not landed → NotImplementedYet(op)."""
    for name in (method,) if isinstance(method, str) else method:
        fn = getattr(platform, name, None)
        if callable(fn):
            return fn(*args, **kwargs)
    raise NotImplementedYet(op)


def _p(info: Info) -> Any:
    return info.context.platform


def _operator_call(info: Info, op: str, method: str, /, *args: Any, **kwargs: Any) -> Any:
    """An operator-level operation (tokens, MCP descriptor) offered by the operator context."""
    return call(info.context.operator, op, method, *args, **kwargs)


# --------------------------------------------------------------------------- shared reads


def read_stack_status(platform: Any) -> dict[str, Any] | None:
    return graph(call(platform, "stackStatus", "stack_status"), t.StackStatus)


def read_services(platform: Any) -> list[dict[str, Any]]:
    return graph_list(call(platform, "services", "services_list"), t.ServiceState)


def read_jobs(platform: Any) -> list[dict[str, Any]]:
    return graph_list(call(platform, "jobs", "jobs_list"), t.JobState)


def read_sources(platform: Any) -> list[dict[str, Any]]:
    return graph_list(call(platform, "sources", "sources_list"), t.SourceState)


def read_workspaces(platform: Any) -> list[dict[str, Any]]:
    return graph_list(call(platform, "workspaces", "workspaces_list"), t.WorkspaceRef)


def read_templates(platform: Any) -> list[dict[str, Any]]:
    return graph_list(call(platform, "templates", "templates_list"), t.TemplateDescriptor)


def read_secrets(platform: Any) -> list[dict[str, Any]]:
    return graph_list(call(platform, "secrets", "secrets_list"), t.SecretRef)


def read_topology(platform: Any, with_commits: int = 0) -> dict[str, Any] | None:
    return graph(
        call(platform, "gitOpsTopology", "gitops_topology", with_commits=with_commits), t.GitOpsTopology
    )


def read_workspace_status(platform: Any, name: str) -> dict[str, Any] | None:
    return graph(call(platform, "workspaceStatus", "workspace_status", name), t.WorkspaceStatus)


def read_snapshot(platform: Any) -> dict[str, Any]:
    """The aggregate of ``onStackSnapshotChange`` (§3.4); any failing read fails the whole snapshot."""
    return {
        "health": {"status": "ok", "name": None, "message": None},
        "stack_status": read_stack_status(platform),
        "services": read_services(platform),
        "jobs": read_jobs(platform),
        "sources": read_sources(platform),
        "workspaces": read_workspaces(platform),
        "templates": read_templates(platform),
        "secrets": read_secrets(platform),
        "git_ops_topology": read_topology(platform, 0),
    }


def require_workspace(platform: Any, name: str) -> None:
    """NotFound(workspace, name) unless ``name`` is a declared workspace (checked at subscribe)."""
    if callable(getattr(platform, "workspace_get", None)):
        platform.workspace_get(name)
        return
    status = platform.stack_status()
    if name not in status.workspaces:
        raise NotFound("workspace", name)


# --------------------------------------------------------------------------- queries


def health() -> t.MutationResult | None:
    return {"status": "ok", "name": None, "message": None}  # type: ignore[return-value]


def stack_status(info: Info) -> t.StackStatus | None:
    return read_stack_status(_p(info))  # type: ignore[return-value]


def service_endpoint(info: Info, name: str) -> t.ServiceEndpoint | None:
    return graph(call(_p(info), "serviceEndpoint", "service_endpoint", name), t.ServiceEndpoint)  # type: ignore[return-value]


def ingress_status(info: Info) -> t.IngressStatus | None:
    return graph(call(_p(info), "ingressStatus", "ingress_status"), t.IngressStatus)  # type: ignore[return-value]


def services(info: Info) -> list[t.ServiceState]:
    return read_services(_p(info))  # type: ignore[return-value]


def jobs(info: Info) -> list[t.JobState]:
    return read_jobs(_p(info))  # type: ignore[return-value]


def sources(info: Info) -> list[t.SourceState]:
    return read_sources(_p(info))  # type: ignore[return-value]


def source(info: Info, name: str) -> t.SourceState | None:
    return graph(call(_p(info), "source", "source_status", name), t.SourceState)  # type: ignore[return-value]


def workspaces(info: Info) -> list[t.WorkspaceRef]:
    return read_workspaces(_p(info))  # type: ignore[return-value]


def workspace(info: Info, name: str) -> t.WorkspaceRef | None:
    return graph(call(_p(info), "workspace", "workspace_get", name), t.WorkspaceRef)  # type: ignore[return-value]


def workspace_status(info: Info, name: str) -> t.WorkspaceStatus | None:
    return read_workspace_status(_p(info), name)  # type: ignore[return-value]


def workspace_git(info: Info, name: str) -> list[t.SourceState]:
    return graph_list(call(_p(info), "workspaceGit", "workspace_git", name), t.SourceState)  # type: ignore[return-value]


def git_ops_topology(info: Info, with_commits: int | None = None) -> t.GitOpsTopology | None:
    return read_topology(_p(info), with_commits or 0)  # type: ignore[return-value]


def source_diff(info: Info, name: str, ref: str | None = None) -> list[t.DiffFile]:
    return graph_list(call(_p(info), "sourceDiff", "source_diff", name, ref=ref or ""), t.DiffFile)  # type: ignore[return-value]


def workspace_source_diff(info: Info, workspace: str, slot: str, ref: str | None = None) -> list[t.DiffFile]:
    result = call(_p(info), "workspaceSourceDiff", "workspace_source_diff", workspace, slot, ref=ref or "")
    return graph_list(result, t.DiffFile)  # type: ignore[return-value]


def stack_logs(info: Info, services: list[str] | None = None, limit: int | None = None) -> str:
    return bounded_log(call(_p(info), "stackLogs", "stack_logs", list(services or [])), limit)


def service_logs(info: Info, name: str, limit: int | None = None) -> str:
    return bounded_log(call(_p(info), "serviceLogs", "service_logs", name), limit)


def workspace_logs(info: Info, name: str, limit: int | None = None) -> str:
    return bounded_log(call(_p(info), "workspaceLogs", "workspace_logs", name), limit)


def mcp_descriptor(info: Info) -> t.JSON | None:
    from angee.api import to_wire

    return to_wire(_operator_call(info, "mcpDescriptor", "mcp_descriptor"))


def templates(info: Info) -> list[t.TemplateDescriptor]:
    return read_templates(_p(info))  # type: ignore[return-value]


def template(info: Info, ref: str) -> t.TemplateDescriptor | None:
    return graph(call(_p(info), "template", "template_get", ref), t.TemplateDescriptor)  # type: ignore[return-value]


def secrets(info: Info) -> list[t.SecretRef]:
    return read_secrets(_p(info))  # type: ignore[return-value]


def secret(info: Info, name: str) -> t.SecretRef | None:
    return graph(call(_p(info), "secret", "secret_get", name), t.SecretRef)  # type: ignore[return-value]


def secret_value(info: Info, name: str) -> t.SecretValue | None:
    return graph(call(_p(info), "secretValue", "secret_value", name), t.SecretValue)  # type: ignore[return-value]


# --------------------------------------------------------------------------- mutations


def _mutation(info: Info, op: str, method: str, /, *args: Any, **kwargs: Any) -> Any:
    return graph(call(_p(info), op, method, *args, **kwargs), t.MutationResult)


def stack_init(info: Info, input: t.StackInitInput) -> t.StackInitResult | None:
    result = call(
        _p(info),
        "stackInit",
        "stack_init",
        template=input.template,
        path=input.path or "",
        inputs=key_values(input.inputs),
        force=bool(input.force),
    )
    return graph(result, t.StackInitResult)  # type: ignore[return-value]


def stack_update(info: Info) -> t.MutationResult | None:
    return _mutation(info, "stackUpdate", "stack_update")


def stack_prepare(info: Info) -> t.CompiledStack | None:
    return graph(call(_p(info), "stackPrepare", "stack_prepare"), t.CompiledStack)  # type: ignore[return-value]


def stack_build(info: Info, input: t.StackRuntimeInput | None = None) -> t.MutationResult | None:
    return _mutation(info, "stackBuild", "stack_build", services=list((input and input.services) or []))


def stack_up(info: Info, input: t.StackRuntimeInput | None = None) -> t.MutationResult | None:
    services = list((input and input.services) or [])
    return _mutation(info, "stackUp", "stack_up", services=services, build=bool(input and input.build))


def stack_dev(info: Info, input: t.StackRuntimeInput | None = None) -> t.MutationResult | None:
    return _mutation(info, "stackDev", "stack_dev", build=bool(input and input.build), detach=True)


def stack_down(info: Info) -> t.MutationResult | None:
    return _mutation(info, "stackDown", "stack_down")


def stack_destroy(info: Info, purge: bool | None = None) -> t.MutationResult | None:
    return _mutation(info, "stackDestroy", "stack_destroy", purge=bool(purge))


def job_run(info: Info, name: str, inputs: list[t.KeyValueInput] | None = None) -> str:
    result = call(_p(info), "jobRun", "job_run", name, inputs=key_values(inputs))
    return result if isinstance(result, str) else str(getattr(result, "output", result))


def _service_request(input: t.ServiceInput) -> Any:
    from angee.api.runtime import ServiceInitRequest

    return ServiceInitRequest(
        name=input.name or "",
        runtime=input.runtime or "",
        image=input.image or "",
        command=list(input.command) if input.command is not None else None,
        mounts=list(input.mounts) if input.mounts is not None else None,
        env=key_values(input.env) if input.env is not None else None,
        ports=list(input.ports) if input.ports is not None else None,
        workdir=input.workdir or "",
        start=bool(input.start),
    )


def service_init(info: Info, input: t.ServiceInput) -> t.MutationResult | None:
    return _mutation(info, "serviceInit", "service_init", _service_request(input))


def service_create(info: Info, input: t.ServiceCreateInput) -> t.ServiceState | None:
    result = call(
        _p(info),
        "serviceCreate",
        "service_create",
        template=input.template,
        workspace=input.workspace,
        inputs=key_values(input.inputs),
        name=input.name or "",
        start=bool(input.start),
    )
    return graph(result, t.ServiceState)  # type: ignore[return-value]


def service_update(info: Info, name: str, input: t.ServiceInput) -> t.MutationResult | None:
    return _mutation(info, "serviceUpdate", "service_update", name, _service_request(input))


def service_up(info: Info, name: str) -> t.MutationResult | None:
    return _mutation(info, "serviceUp", "service_up", name)


def service_start(info: Info, name: str) -> t.MutationResult | None:
    return _mutation(info, "serviceStart", "service_start", name)


def service_stop(info: Info, name: str) -> t.MutationResult | None:
    return _mutation(info, "serviceStop", "service_stop", name)


def service_restart(info: Info, name: str) -> t.MutationResult | None:
    return _mutation(info, "serviceRestart", "service_restart", name)


def service_destroy(info: Info, name: str) -> t.MutationResult | None:
    return _mutation(info, "serviceDestroy", "service_destroy", name, stop=True)


def _source_state(info: Info, op: str, method: str, /, *args: Any, **kwargs: Any) -> Any:
    return graph(call(_p(info), op, method, *args, **kwargs), t.SourceState)


def source_fetch(info: Info, name: str) -> t.SourceState | None:
    return _source_state(info, "sourceFetch", "source_fetch", name)


def source_pull(info: Info, name: str) -> t.SourceState | None:
    return _source_state(info, "sourcePull", "source_pull", name)


def source_push(info: Info, name: str, ref: str | None = None) -> t.SourceState | None:
    return _source_state(info, "sourcePush", "source_push", name, ref=ref or "")


def workspace_create(info: Info, input: t.WorkspaceCreateInput) -> t.WorkspaceRef | None:
    result = call(
        _p(info),
        "workspaceCreate",
        "workspace_create",
        template=input.template,
        name=input.name or "",
        inputs=key_values(input.inputs),
        ttl=input.ttl or "",
        sync=bool(input.sync),
    )
    return graph(result, t.WorkspaceRef)  # type: ignore[return-value]


def workspace_update(info: Info, name: str, input: t.WorkspaceUpdateInput) -> t.WorkspaceRef | None:
    inputs = key_values(input.inputs) if input.inputs is not None else None
    result = call(
        _p(info),
        "workspaceUpdate",
        "workspace_update",
        name,
        inputs=inputs,
        ttl=input.ttl,
        overwrite=bool(input.overwrite),
    )
    return graph(result, t.WorkspaceRef)  # type: ignore[return-value]


def workspace_destroy(
    info: Info, name: str, purge: bool | None = None, force: bool | None = None
) -> t.MutationResult | None:
    return _mutation(
        info, "workspaceDestroy", "workspace_destroy", name, purge=bool(purge), force=bool(force)
    )


def workspace_push(info: Info, name: str, ref: str | None = None) -> list[t.SourceState]:
    result = call(_p(info), "workspacePush", "workspace_push", name, ref=ref or "")
    return graph_list(result, t.SourceState)  # type: ignore[return-value]


def workspace_sync_base(info: Info, name: str, method: str | None = None) -> list[t.SourceState]:
    result = call(_p(info), "workspaceSyncBase", "workspace_sync_base", name, method=method or "")
    return graph_list(result, t.SourceState)  # type: ignore[return-value]


def _slot_status(info: Info, op: str, method: str, /, *args: Any, **kwargs: Any) -> Any:
    return graph(call(_p(info), op, method, *args, **kwargs), t.WorkspaceSourceStatus)


def workspace_source_fetch(info: Info, workspace: str, slot: str) -> t.WorkspaceSourceStatus | None:
    return _slot_status(info, "workspaceSourceFetch", "workspace_source_fetch", workspace, slot)


def workspace_source_pull(info: Info, workspace: str, slot: str) -> t.WorkspaceSourceStatus | None:
    return _slot_status(info, "workspaceSourcePull", "workspace_source_pull", workspace, slot)


def workspace_source_push(
    info: Info, workspace: str, slot: str, ref: str | None = None
) -> t.WorkspaceSourceStatus | None:
    return _slot_status(info, "workspaceSourcePush", "workspace_source_push", workspace, slot, ref=ref or "")


def workspace_create_preflight(info: Info, input: t.WorkspaceCreateInput) -> t.WorkspaceCreatePreflight:
    result = call(
        _p(info),
        "workspaceCreatePreflight",
        "workspace_create_preflight",
        template=input.template,
        name=input.name or "",
        inputs=key_values(input.inputs),
        ttl=input.ttl or "",
    )
    return graph(result, t.WorkspaceCreatePreflight)  # type: ignore[return-value]


def mint_connection_token(
    info: Info, actor: str, scope: list[str] | None = None, ttl: str | None = None
) -> t.ConnectionToken:
    result = _operator_call(
        info,
        "mintConnectionToken",
        "mint_connection_token",
        actor=actor,
        scope=list(scope or []),
        ttl=ttl or "",
    )
    return graph(result, t.ConnectionToken)  # type: ignore[return-value]


def mint_route_token(info: Info, actor: str, service: str, ttl: str | None = None) -> t.ConnectionToken:
    result = _operator_call(
        info, "mintRouteToken", "mint_route_token", actor=actor, service=service, ttl=ttl or ""
    )
    return graph(result, t.ConnectionToken)  # type: ignore[return-value]


def _git_op(info: Info, op: str, method: str, /, *args: Any, **kwargs: Any) -> Any:
    return graph(call(_p(info), op, method, *args, **kwargs), t.GitOpResult)


def workspace_source_merge(info: Info, workspace: str, slot: str, ref: str) -> t.GitOpResult:
    return _git_op(info, "workspaceSourceMerge", "workspace_source_merge", workspace, slot, ref=ref)


def workspace_source_rebase(info: Info, workspace: str, slot: str, ref: str) -> t.GitOpResult:
    return _git_op(info, "workspaceSourceRebase", "workspace_source_rebase", workspace, slot, ref=ref)


def workspace_source_merge_abort(info: Info, workspace: str, slot: str) -> t.GitOpResult:
    return _git_op(info, "workspaceSourceMergeAbort", "workspace_source_merge_abort", workspace, slot)


def workspace_source_rebase_abort(info: Info, workspace: str, slot: str) -> t.GitOpResult:
    return _git_op(info, "workspaceSourceRebaseAbort", "workspace_source_rebase_abort", workspace, slot)


def workspace_source_rebase_continue(info: Info, workspace: str, slot: str) -> t.GitOpResult:
    return _git_op(info, "workspaceSourceRebaseContinue", "workspace_source_rebase_continue", workspace, slot)


def workspace_source_publish(
    info: Info, workspace: str, slot: str, remote: str | None = None, branch: str | None = None
) -> t.GitOpResult:
    return _git_op(
        info,
        "workspaceSourcePublish",
        "workspace_source_publish",
        workspace,
        slot,
        remote=remote or "",
        branch=branch or "",
    )


def _audited(info: Info, op: str, name: str, action: Any) -> Any:
    """Run a secret mutation and write its audit line (§4.6), success or failure."""
    from angee.operator.graphql.hub import stderr_line
    from angee.secrets import audit_line

    ctx: RequestContext = info.context
    try:
        result = action()
    except AngeeError as err:
        stderr_line(audit_line(op, name, ctx.remote, reason=str(err), actor=ctx.actor or None))
        raise
    stderr_line(audit_line(op, name, ctx.remote, actor=ctx.actor or None))
    return result


def secret_set(info: Info, name: str, value: str) -> t.SecretRef:
    result = _audited(info, "set", name, lambda: call(_p(info), "secretSet", "secret_set", name, value))
    return graph(result, t.SecretRef)  # type: ignore[return-value]


def secret_delete(info: Info, name: str) -> t.MutationResult:
    result = _audited(info, "delete", name, lambda: call(_p(info), "secretDelete", "secret_delete", name))
    return graph(result, t.MutationResult)  # type: ignore[return-value]
