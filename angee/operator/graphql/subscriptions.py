"""Subscription root fields: their blocking event sources and the strawberry declarations over them.

Snapshot streams (§3.4) come from the event hub: ``onStackSnapshotChange`` (stream ``snapshot``),
``onGitOpsTopologyChange`` (``topology``) and ``onWorkspaceStatusChange(name)`` (``workspace[<name>]
status``, declared lazily on first subscribe, after checking the workspace is declared). Log
subscriptions (§3.5) open one backend follow each.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

import strawberry

from angee.operator.graphql import types as t
from angee.operator.graphql.hub import END, TIMEOUT, EventHub
from angee.operator.graphql.logs import LogFollowSource
from angee.operator.graphql.resolvers import (
    RequestContext,
    call,
    read_snapshot,
    read_topology,
    read_workspace_status,
    require_workspace,
)

SNAPSHOT = "snapshot"
TOPOLOGY = "topology"


def workspace_stream(name: str) -> str:
    """The hub stream key (and log label) of one workspace's status."""
    return f"workspace[{name}] status"


def declare_streams(hub: EventHub, platform: Any) -> None:
    """Declare the hub's fixed streams (snapshot, topology) over ``platform``."""
    hub.add_stream(SNAPSHOT, SNAPSHOT, lambda: read_snapshot(platform))
    hub.add_stream(TOPOLOGY, TOPOLOGY, lambda: read_topology(platform, 0))


def _hub(context: RequestContext) -> EventHub:
    hub = context.hub
    if hub is None:
        raise RuntimeError("subscriptions are not available: no event hub")
    return hub


def _snapshot(context: RequestContext, args: dict[str, Any]) -> Any:
    return _hub(context).subscribe(SNAPSHOT)


def _topology(context: RequestContext, args: dict[str, Any]) -> Any:
    return _hub(context).subscribe(TOPOLOGY)


def _workspace_status(context: RequestContext, args: dict[str, Any]) -> Any:
    name = args["name"]
    platform = context.platform
    require_workspace(platform, name)
    hub = _hub(context)
    key = workspace_stream(name)
    hub.add_stream(key, key, lambda: read_workspace_status(platform, name))
    return hub.subscribe(key)


def _service_logs(context: RequestContext, args: dict[str, Any]) -> Any:
    name = args["name"]
    return LogFollowSource(call(context.platform, "onServiceLogs", "service_logs", name, follow=True))


def _workspace_logs(context: RequestContext, args: dict[str, Any]) -> Any:
    name = args["name"]
    return LogFollowSource(call(context.platform, "onWorkspaceLogs", "workspace_logs", name, follow=True))


SOURCES: dict[str, Callable[[RequestContext, dict[str, Any]], Any]] = {
    "onStackSnapshotChange": _snapshot,
    "onGitOpsTopologyChange": _topology,
    "onWorkspaceStatusChange": _workspace_status,
    "onServiceLogs": _service_logs,
    "onWorkspaceLogs": _workspace_logs,
}


def open_source(field_name: str, context: RequestContext, args: dict[str, Any]) -> Any:
    """The blocking event source of subscription field ``field_name`` (``get(timeout)``/``close()``)."""
    factory = SOURCES.get(field_name)
    if factory is None:
        raise RuntimeError(f"subscription {field_name} is not served by this operator")
    return factory(context, args)


# --------------------------------------------------------------------------- strawberry declarations
# The transports drive sources synchronously (see execution.open_stream); these async generators let
# strawberry's own ``Schema.subscribe`` work over the same sources too.


async def _events(source: Any) -> AsyncGenerator[Any, None]:
    try:
        while True:
            event = await asyncio.to_thread(source.get, 0.5)
            if event is END:
                return
            if event is not TIMEOUT:
                yield event
    finally:
        source.close()


async def on_git_ops_topology_change(info: strawberry.Info) -> AsyncGenerator[t.GitOpsTopology, None]:
    async for event in _events(open_source("onGitOpsTopologyChange", info.context, {})):
        yield event


async def on_service_logs(info: strawberry.Info, name: str) -> AsyncGenerator[str, None]:
    async for event in _events(open_source("onServiceLogs", info.context, {"name": name})):
        yield event


async def on_workspace_logs(info: strawberry.Info, name: str) -> AsyncGenerator[str, None]:
    async for event in _events(open_source("onWorkspaceLogs", info.context, {"name": name})):
        yield event


async def on_workspace_status_change(
    info: strawberry.Info, name: str
) -> AsyncGenerator[t.WorkspaceStatus, None]:
    async for event in _events(open_source("onWorkspaceStatusChange", info.context, {"name": name})):
        yield event


async def on_stack_snapshot_change(info: strawberry.Info) -> AsyncGenerator[t.StackSnapshot, None]:
    async for event in _events(open_source("onStackSnapshotChange", info.context, {})):
        yield event
