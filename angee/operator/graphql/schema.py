"""The served GraphQL schema: ``operator.graphql``'s Query, Mutation and Subscription over the resolvers.

Root fields are declared in the contract's order, then the additions of templates-workspaces-git §12
(:mod:`.additions`); strawberry camel-cases the python names. Plugins
may add root fields through the ``angee_graphql_extensions`` hook (objects with optional ``query``,
``mutation`` and ``subscription`` strawberry types); a field already served is not replaced.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig

from angee.operator.graphql import additions as a
from angee.operator.graphql import resolvers as r
from angee.operator.graphql import subscriptions as s
from angee.operator.graphql import types as t
from angee.operator.graphql.convert import resolve_dict_field


@strawberry.type
class Query:
    health = strawberry.field(resolver=r.health)
    stack_status = strawberry.field(resolver=r.stack_status)
    service_endpoint = strawberry.field(resolver=r.service_endpoint)
    ingress_status = strawberry.field(resolver=r.ingress_status)
    services = strawberry.field(resolver=r.services)
    jobs = strawberry.field(resolver=r.jobs)
    sources = strawberry.field(resolver=r.sources)
    source = strawberry.field(resolver=r.source)
    workspaces = strawberry.field(resolver=r.workspaces)
    workspace = strawberry.field(resolver=r.workspace)
    workspace_status = strawberry.field(resolver=r.workspace_status)
    workspace_git = strawberry.field(resolver=r.workspace_git)
    git_ops_topology = strawberry.field(resolver=r.git_ops_topology)
    source_diff = strawberry.field(resolver=r.source_diff)
    workspace_source_diff = strawberry.field(resolver=r.workspace_source_diff)
    stack_logs = strawberry.field(resolver=r.stack_logs)
    service_logs = strawberry.field(resolver=r.service_logs)
    workspace_logs = strawberry.field(resolver=r.workspace_logs)
    mcp_descriptor = strawberry.field(resolver=r.mcp_descriptor)
    templates = strawberry.field(resolver=r.templates)
    template = strawberry.field(resolver=r.template)
    secrets = strawberry.field(resolver=r.secrets)
    secret = strawberry.field(resolver=r.secret)
    secret_value = strawberry.field(resolver=r.secret_value)
    # templates-workspaces-git §12 additions
    file = strawberry.field(resolver=a.file_content)
    workspace_pools = strawberry.field(resolver=a.workspace_pools)


@strawberry.type
class Mutation:
    stack_init = strawberry.mutation(resolver=r.stack_init)
    stack_update = strawberry.mutation(resolver=r.stack_update)
    stack_prepare = strawberry.mutation(resolver=r.stack_prepare)
    stack_build = strawberry.mutation(resolver=r.stack_build)
    stack_up = strawberry.mutation(resolver=r.stack_up)
    stack_dev = strawberry.mutation(resolver=r.stack_dev)
    stack_down = strawberry.mutation(resolver=r.stack_down)
    stack_destroy = strawberry.mutation(resolver=r.stack_destroy)
    job_run = strawberry.mutation(resolver=r.job_run)
    service_init = strawberry.mutation(resolver=r.service_init)
    service_create = strawberry.mutation(resolver=r.service_create)
    service_update = strawberry.mutation(resolver=r.service_update)
    service_up = strawberry.mutation(resolver=r.service_up)
    service_start = strawberry.mutation(resolver=r.service_start)
    service_stop = strawberry.mutation(resolver=r.service_stop)
    service_restart = strawberry.mutation(resolver=r.service_restart)
    service_destroy = strawberry.mutation(resolver=r.service_destroy)
    source_fetch = strawberry.mutation(resolver=r.source_fetch)
    source_pull = strawberry.mutation(resolver=r.source_pull)
    source_push = strawberry.mutation(resolver=r.source_push)
    workspace_create = strawberry.mutation(resolver=r.workspace_create)
    workspace_update = strawberry.mutation(resolver=r.workspace_update)
    workspace_destroy = strawberry.mutation(resolver=r.workspace_destroy)
    workspace_push = strawberry.mutation(resolver=r.workspace_push)
    workspace_sync_base = strawberry.mutation(resolver=r.workspace_sync_base)
    workspace_source_fetch = strawberry.mutation(resolver=r.workspace_source_fetch)
    workspace_source_pull = strawberry.mutation(resolver=r.workspace_source_pull)
    workspace_source_push = strawberry.mutation(resolver=r.workspace_source_push)
    workspace_create_preflight = strawberry.mutation(resolver=r.workspace_create_preflight)
    mint_connection_token = strawberry.mutation(resolver=r.mint_connection_token)
    mint_route_token = strawberry.mutation(resolver=r.mint_route_token)
    workspace_source_merge = strawberry.mutation(resolver=r.workspace_source_merge)
    workspace_source_rebase = strawberry.mutation(resolver=r.workspace_source_rebase)
    workspace_source_merge_abort = strawberry.mutation(resolver=r.workspace_source_merge_abort)
    workspace_source_rebase_abort = strawberry.mutation(resolver=r.workspace_source_rebase_abort)
    workspace_source_rebase_continue = strawberry.mutation(resolver=r.workspace_source_rebase_continue)
    workspace_source_publish = strawberry.mutation(resolver=r.workspace_source_publish)
    secret_set = strawberry.mutation(resolver=r.secret_set)
    secret_delete = strawberry.mutation(resolver=r.secret_delete)
    # templates-workspaces-git §12 additions
    stack_update_from_template = strawberry.mutation(resolver=a.stack_update_from_template)
    service_update_from_template = strawberry.mutation(resolver=a.service_update_from_template)
    file_write = strawberry.mutation(resolver=a.file_write)
    workspace_lease_acquire = strawberry.mutation(resolver=a.workspace_lease_acquire)
    workspace_lease_release = strawberry.mutation(resolver=a.workspace_lease_release)
    workspace_pool_acquire = strawberry.mutation(resolver=a.workspace_pool_acquire)
    workspace_reap = strawberry.mutation(resolver=a.workspace_reap)


@strawberry.type
class Subscription:
    on_git_ops_topology_change = strawberry.subscription(resolver=s.on_git_ops_topology_change)
    on_service_logs = strawberry.subscription(resolver=s.on_service_logs)
    on_workspace_logs = strawberry.subscription(resolver=s.on_workspace_logs)
    on_workspace_status_change = strawberry.subscription(resolver=s.on_workspace_status_change)
    on_stack_snapshot_change = strawberry.subscription(
        resolver=s.on_stack_snapshot_change,
        description="Emitted whenever the aggregate stack snapshot's hash changes.",
    )


def _plugin_extensions() -> list[Any]:
    try:
        from angee.plugins import registry

        return [ext for _, answer in registry().call_each("angee_graphql_extensions") for ext in answer or []]
    except Exception:  # a broken plugin must not take the operator's schema down
        return []


def _merged(name: str, core: type, extra: list[type]) -> type:
    if not extra:
        return core
    from strawberry.tools import merge_types

    served = {f.python_name for f in core.__strawberry_definition__.fields}  # type: ignore[attr-defined]
    keep: list[type] = []
    for cls in extra:
        names = {f.python_name for f in cls.__strawberry_definition__.fields}  # type: ignore[attr-defined]
        if names & served:
            continue  # never replace a served field
        served |= names
        keep.append(cls)
    return merge_types(name, (core, *keep)) if keep else core


def build_schema(extensions: list[Any] | None = None) -> strawberry.Schema:
    """The served schema; ``extensions`` defaults to what installed plugins contribute."""
    if extensions is None:
        extensions = _plugin_extensions()
    query = _merged("Query", Query, [e.query for e in extensions if getattr(e, "query", None)])
    mutation = _merged("Mutation", Mutation, [e.mutation for e in extensions if getattr(e, "mutation", None)])
    config = StrawberryConfig(default_resolver=resolve_dict_field, scalar_map={t.JSON: t.JSON_SCALAR})
    return strawberry.Schema(query=query, mutation=mutation, subscription=Subscription, config=config)


def served_sdl(schema: strawberry.Schema | None = None) -> str:
    """The SDL of the served schema, as ``angee operator schema`` prints it."""
    return (schema or build_schema()).as_str() + "\n"
