"""The operation registry (operator-and-cli §7): every operation and where each surface exposes it.

One row per operation: its id, the Platform method the adapters call, its CLI command paths, its REST
method and path (spec syntax: ``{name}`` is one segment, ``{ref...}`` the rest of the path), its GraphQL
fields, MCP flags, and a reason for every surface it is deliberately absent from. The table drives the
MCP descriptor (§5.5), the operator's 501 answers for operations the Platform does not have yet, the
remote client's routes and the surface-parity tests. Import-cheap: plain data, no Flask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MCP_GROUPS = (
    "stack",
    "services",
    "jobs",
    "sources",
    "workspaces",
    "workspace_sources",
    "gitops",
    "templates",
    "secrets",
    "tokens",
    "files",
)


@dataclass(frozen=True)
class Operation:
    """One operation of the contract and its place on every surface."""

    id: str
    platform: str = ""  # Platform method name; "" = served by the operator itself (or CLI-only)
    cli: tuple[str, ...] = ()  # command paths, e.g. ("status", "stack status")
    rest: tuple[str, str] | None = None  # (METHOD, "/spec/{path}")
    graphql: tuple[str, ...] = ()  # root fields (Query/Mutation/Subscription)
    group: str = ""  # MCP tool group ("" = not a tool)
    verb: str = ""  # MCP tool verb (snake_case)
    status: int = 200  # REST success status
    mutating: bool = False
    privileged: bool = False  # secret value read, token minting, file write/delete
    streaming: bool = False  # REST route is a byte stream or a WebSocket (never an MCP tool)
    public: bool = False  # REST route skips the bearer gate (§4.1)
    text: bool = False  # REST success body is text/plain
    omit_cli: str = ""
    omit_rest: str = ""
    omit_graphql: str = ""

    @property
    def tool(self) -> str:
        """The MCP tool name ``<group>.<verb>``, or ``""`` when the operation is not a tool."""
        if not self.group or self.rest is None or self.streaming:
            return ""
        return f"{self.group}.{self.verb}"

    @property
    def rest_method(self) -> str:
        return self.rest[0] if self.rest else ""

    @property
    def rest_path(self) -> str:
        return self.rest[1] if self.rest else ""


def _op(id: str, platform: str = "", **kw: Any) -> Operation:
    return Operation(id=id, platform=platform, **kw)


def _svc(verb: str) -> Operation:
    """``serviceUp``/``Start``/``Stop``/``Restart``: one per verb, same shape."""
    cap = verb.capitalize()
    cli = (f"service {verb}",) if verb == "up" else (verb, f"service {verb}")
    return _op(
        f"service{cap}",
        f"service_{verb}",
        cli=cli,
        rest=("POST", f"/services/{{name}}/{verb}"),
        graphql=(f"service{cap}",),
        group="services",
        verb=verb,
        mutating=True,
    )


def _slot(verb: str, *, method: str = "POST", mutating: bool = True) -> Operation:
    """``workspaceSource<Op>``: the per-slot git operations under ``/workspaces/{name}/sources/{slot}``."""
    camel = "".join(part.capitalize() for part in verb.split("-"))
    return _op(
        f"workspaceSource{camel}",
        "workspace_source_" + verb.replace("-", "_"),
        cli=(f"workspace source {verb}",),
        rest=(method, f"/workspaces/{{name}}/sources/{{slot}}/{verb}"),
        graphql=(f"workspaceSource{camel}",),
        group="workspace_sources",
        verb=verb.replace("-", "_"),
        mutating=mutating,
    )


LOCAL_ONLY = "inspects or changes the local host only"
FILES_BY_SOURCE = "GraphQL serves the source-scoped Files API (`file`, `fileWrite`: sourceFileRead/Write)"

OPERATIONS: tuple[Operation, ...] = (
    # ------------------------------------------------------------------ health & meta
    _op(
        "health",
        cli=(),
        rest=("GET", "/healthz"),
        graphql=("health",),
        public=True,
        omit_cli="doctor covers local health",
    ),
    _op(
        "mcpDescriptor",
        rest=("GET", "/mcp"),
        graphql=("mcpDescriptor",),
        omit_cli="machine-facing descriptor",
    ),
    _op(
        "apiDocs",
        rest=("GET", "/docs"),
        omit_cli="interactive REST documentation (Swagger UI) for browsers",
        omit_graphql="GraphQL has introspection",
    ),
    _op(
        "apiDocsAssets",
        rest=("GET", "/docs/assets/{file...}"),
        omit_cli="static assets of the documentation page",
        omit_graphql="static assets of the documentation page",
    ),
    _op(
        "edgeVerify",
        rest=("GET", "/edge/verify"),
        public=True,
        omit_cli="forward-auth target for the ingress edge",
        omit_graphql="forward-auth target for the ingress edge",
    ),
    _op(
        "ingressStatus",
        "ingress_status",
        rest=("GET", "/ingress/status"),
        graphql=("ingressStatus",),
        omit_cli="LATER: arrives with the ingress edge",
    ),
    # ------------------------------------------------------------------ stack
    _op(
        "stackInit",
        "stack_init",
        cli=("init", "init stack", "stack init"),
        rest=("POST", "/stack/init"),
        graphql=("stackInit",),
        group="stack",
        verb="init",
        status=201,
        mutating=True,
    ),
    _op(
        "stackUpdate",
        "stack_update",
        cli=("stack update",),
        rest=("POST", "/stack/update"),
        graphql=("stackUpdate",),
        group="stack",
        verb="update",
        mutating=True,
    ),
    _op(
        "stackUpdateFromTemplate",
        "stack_update_from_template",
        cli=("stack update",),  # with --template
        rest=("POST", "/stack/update"),  # with {"template": true} (templates-workspaces-git §7.3)
        graphql=("stackUpdateFromTemplate",),
        group="stack",
        verb="update_from_template",
        mutating=True,
    ),
    _op(
        "stackPrepare",
        "stack_prepare",
        cli=("stack prepare", "internal stack prepare"),
        rest=("POST", "/stack/prepare"),
        graphql=("stackPrepare",),
        group="stack",
        verb="prepare",
        mutating=True,
    ),
    _op(
        "stackCompile",
        "stack_compile",
        cli=("stack compile", "internal stack compile"),
        omit_rest="local diagnostic (compiles without writing)",
        omit_graphql="local diagnostic (compiles without writing)",
    ),
    _op(
        "stackStatus",
        "stack_status",
        cli=("status", "stack status"),
        rest=("GET", "/stack/status"),
        graphql=("stackStatus",),
        group="stack",
        verb="status",
    ),
    _op(
        "stackBuild",
        "stack_build",
        cli=("build", "stack build"),
        rest=("POST", "/stack/build"),
        graphql=("stackBuild",),
        group="stack",
        verb="build",
        mutating=True,
    ),
    _op(
        "stackUp",
        "stack_up",
        cli=("up", "stack up"),
        rest=("POST", "/stack/up"),
        graphql=("stackUp",),
        group="stack",
        verb="up",
        mutating=True,
    ),
    _op(
        "stackUpForeground",
        "stack_up",  # with an output callback
        cli=("up", "stack up"),
        rest=("POST", "/stack/up/stream"),
        group="stack",
        verb="up_stream",
        mutating=True,
        streaming=True,
        text=True,
        omit_graphql="byte stream",
    ),
    _op(
        "stackDev",
        "stack_dev",
        cli=("dev", "stack dev"),
        rest=("POST", "/stack/dev"),
        graphql=("stackDev",),
        group="stack",
        verb="dev",
        mutating=True,
    ),
    _op(
        "stackDevForeground",
        "stack_dev",  # detach=False with an output callback
        cli=("dev", "stack dev"),
        rest=("POST", "/stack/dev/stream"),
        group="stack",
        verb="dev_stream",
        mutating=True,
        streaming=True,
        text=True,
        omit_graphql="byte stream",
    ),
    _op(
        "stackDown",
        "stack_down",
        cli=("down", "stack down"),
        rest=("POST", "/stack/down"),
        graphql=("stackDown",),
        group="stack",
        verb="down",
        mutating=True,
    ),
    _op(
        "stackDestroy",
        "stack_destroy",
        cli=("stack destroy",),
        rest=("POST", "/stack/destroy"),
        graphql=("stackDestroy",),
        group="stack",
        verb="destroy",
        mutating=True,
    ),
    _op(
        "stackLogs",
        "stack_logs",
        cli=("logs", "stack logs"),
        rest=("GET", "/stack/logs"),
        graphql=("stackLogs",),
        group="stack",
        verb="logs",
        text=True,
    ),
    _op(
        "stackSnapshot",
        graphql=("onStackSnapshotChange",),
        omit_cli="push-only GraphQL subscription",
        omit_rest="push-only GraphQL subscription",
    ),
    # ------------------------------------------------------------------ services
    _op(
        "serviceList",
        "services_list",
        cli=("service list",),
        rest=("GET", "/services"),
        graphql=("services",),
        group="services",
        verb="list",
    ),
    _op(
        "serviceInit",
        "service_init",
        cli=("service init",),
        rest=("POST", "/services"),
        graphql=("serviceInit",),
        group="services",
        verb="init",
        status=201,
        mutating=True,
    ),
    _op(
        "serviceCreate",
        "service_create",
        cli=("service create",),
        rest=("POST", "/services/create"),
        graphql=("serviceCreate",),
        group="services",
        verb="create",
        status=201,
        mutating=True,
    ),
    _op(
        "serviceUpdate",
        "service_update",
        cli=("service update",),
        rest=("PATCH", "/services/{name}"),
        graphql=("serviceUpdate",),
        group="services",
        verb="update",
        mutating=True,
    ),
    _op(
        "serviceUpdateFromTemplate",
        "service_update_from_template",
        cli=("service update",),  # with --template
        rest=("POST", "/services/{name}/template/update"),
        graphql=("serviceUpdateFromTemplate",),
        group="services",
        verb="update_from_template",
        mutating=True,
    ),
    _op(
        "serviceDestroy",
        "service_destroy",
        cli=("service destroy",),
        rest=("POST", "/services/{name}/destroy"),
        graphql=("serviceDestroy",),
        group="services",
        verb="destroy",
        mutating=True,
    ),
    _svc("up"),
    _svc("start"),
    _svc("stop"),
    _svc("restart"),
    _op(
        "serviceLogs",
        "service_logs",
        cli=("service logs",),
        rest=("GET", "/services/{name}/logs"),
        graphql=("serviceLogs", "onServiceLogs"),
        group="services",
        verb="logs",
        text=True,
    ),
    _op(
        "streamServiceLogs",
        "service_logs",
        rest=("GET", "/services/{name}/logs/stream"),
        streaming=True,
        omit_cli="use `service logs -f`",
        omit_graphql="per-service WebSocket log socket (GraphQL has onServiceLogs)",
    ),
    _op(
        "serviceEndpoint",
        "service_endpoint",
        cli=("service endpoint",),
        rest=("GET", "/services/{name}/endpoint"),
        graphql=("serviceEndpoint",),
        group="services",
        verb="endpoint",
    ),
    # ------------------------------------------------------------------ jobs
    _op(
        "jobList",
        "jobs_list",
        cli=("job list",),
        rest=("GET", "/jobs"),
        graphql=("jobs",),
        group="jobs",
        verb="list",
    ),
    _op(
        "jobRun",
        "job_run",
        cli=("job run",),
        rest=("POST", "/jobs/{name}/run"),
        graphql=("jobRun",),
        group="jobs",
        verb="run",
        mutating=True,
        text=True,
    ),
    _op(
        "jobLogs",
        cli=("job logs",),
        rest=("GET", "/jobs/{name}/logs"),
        omit_graphql="job logs are returned by job run",
    ),
    # ------------------------------------------------------------------ sources
    _op(
        "sourceList",
        "sources_list",
        cli=("source list",),
        rest=("GET", "/sources"),
        graphql=("sources",),
        group="sources",
        verb="list",
    ),
    _op(
        "sourceStatus",
        "source_status",
        cli=("source status",),
        rest=("GET", "/sources/{name}/status"),
        graphql=("source",),
        group="sources",
        verb="status",
    ),
    _op(
        "sourceFetch",
        "source_fetch",
        cli=("source fetch",),
        rest=("POST", "/sources/{name}/fetch"),
        graphql=("sourceFetch",),
        group="sources",
        verb="fetch",
        mutating=True,
    ),
    _op(
        "sourcePull",
        "source_pull",
        cli=("source pull",),
        rest=("POST", "/sources/{name}/pull"),
        graphql=("sourcePull",),
        group="sources",
        verb="pull",
        mutating=True,
    ),
    _op(
        "sourcePush",
        "source_push",
        cli=("source push",),
        rest=("POST", "/sources/{name}/push"),
        graphql=("sourcePush",),
        group="sources",
        verb="push",
        mutating=True,
    ),
    _op(
        "sourceDiff",
        "source_diff",
        cli=("source diff",),
        rest=("GET", "/sources/{name}/diff"),
        graphql=("sourceDiff",),
        group="sources",
        verb="diff",
    ),
    # ------------------------------------------------------------------ workspaces
    _op(
        "workspaceList",
        "workspaces_list",
        cli=("workspace list",),
        rest=("GET", "/workspaces"),
        graphql=("workspaces",),
        group="workspaces",
        verb="list",
    ),
    _op(
        "workspaceCreate",
        "workspace_create",
        cli=("workspace create",),
        rest=("POST", "/workspaces"),
        graphql=("workspaceCreate",),
        group="workspaces",
        verb="create",
        status=201,
        mutating=True,
    ),
    _op(
        "workspacePreflight",
        "workspace_create_preflight",
        cli=("workspace preflight",),
        rest=("POST", "/workspaces/preflight"),
        graphql=("workspaceCreatePreflight",),
        group="workspaces",
        verb="preflight",
    ),
    _op(
        "workspaceGet",
        "workspace_get",
        cli=("workspace get",),
        rest=("GET", "/workspaces/{name}"),
        graphql=("workspace",),
        group="workspaces",
        verb="get",
    ),
    _op(
        "workspaceUpdate",
        "workspace_update",
        cli=("workspace update",),
        rest=("PATCH", "/workspaces/{name}"),
        graphql=("workspaceUpdate",),
        group="workspaces",
        verb="update",
        mutating=True,
    ),
    _op(
        "workspaceStatus",
        "workspace_status",
        cli=("workspace status",),
        rest=("GET", "/workspaces/{name}/status"),
        graphql=("workspaceStatus", "onWorkspaceStatusChange"),
        group="workspaces",
        verb="status",
    ),
    _op(
        "workspaceLogs",
        "workspace_logs",
        cli=("workspace logs",),
        rest=("GET", "/workspaces/{name}/logs"),
        graphql=("workspaceLogs", "onWorkspaceLogs"),
        group="workspaces",
        verb="logs",
        text=True,
    ),
    _op(
        "workspaceDestroy",
        "workspace_destroy",
        cli=("workspace destroy",),
        rest=("POST", "/workspaces/{name}/destroy"),
        graphql=("workspaceDestroy",),
        group="workspaces",
        verb="destroy",
        mutating=True,
    ),
    _op(
        "workspaceGit",
        "workspace_git",
        cli=("workspace git",),
        rest=("GET", "/workspaces/{name}/git"),
        graphql=("workspaceGit",),
        group="workspaces",
        verb="git",
    ),
    _op(
        "workspacePush",
        "workspace_push",
        cli=("workspace push",),
        rest=("POST", "/workspaces/{name}/push"),
        graphql=("workspacePush",),
        group="workspaces",
        verb="push",
        mutating=True,
    ),
    _op(
        "workspaceSyncBase",
        "workspace_sync_base",
        cli=("workspace sync-base",),
        rest=("POST", "/workspaces/{name}/sync-base"),
        graphql=("workspaceSyncBase",),
        group="workspaces",
        verb="sync_base",
        mutating=True,
    ),
    _op(
        "workspaceOpen",
        cli=("workspace open",),
        omit_rest="launches local editors",
        omit_graphql="launches local editors",
    ),
    _op(
        "workspaceLease",
        "workspace_lease",
        cli=("workspace lease",),
        rest=("POST", "/workspaces/{name}/lease"),
        graphql=("workspaceLeaseAcquire",),
        group="workspaces",
        verb="lease",
        mutating=True,
    ),
    _op(
        "workspaceRelease",
        "workspace_release",
        cli=("workspace release",),
        rest=("DELETE", "/workspaces/{name}/lease"),
        graphql=("workspaceLeaseRelease",),
        group="workspaces",
        verb="release",
        mutating=True,
    ),
    _op(
        "workspacePoolAcquire",
        "workspace_pool_acquire",
        cli=("workspace acquire",),
        rest=("POST", "/workspaces/pool/{pool}/acquire"),
        graphql=("workspacePoolAcquire",),
        group="workspaces",
        verb="acquire",
        mutating=True,
    ),
    _op(
        "workspacePools",
        "workspace_pools",
        cli=("workspace pool",),
        rest=("GET", "/workspaces/pool"),
        graphql=("workspacePools",),
        group="workspaces",
        verb="pools",
    ),
    _op(
        "workspaceReap",
        "workspace_reap",
        cli=("workspace reap",),
        rest=("POST", "/workspaces/reap"),
        graphql=("workspaceReap",),
        group="workspaces",
        verb="reap",
        mutating=True,
    ),
    # ------------------------------------------------------------------ workspace source slots
    _slot("fetch"),
    _slot("pull"),
    _slot("push"),
    _slot("diff", method="GET", mutating=False),
    _slot("merge"),
    _slot("rebase"),
    _slot("merge-abort"),
    _slot("rebase-abort"),
    _slot("rebase-continue"),
    _slot("publish"),
    # ------------------------------------------------------------------ gitops, templates
    _op(
        "gitOpsTopology",
        "gitops_topology",
        cli=("gitops topology",),
        rest=("GET", "/gitops/topology"),
        graphql=("gitOpsTopology", "onGitOpsTopologyChange"),
        group="gitops",
        verb="topology",
    ),
    _op(
        "templates",
        "templates_list",
        cli=("template list",),
        rest=("GET", "/templates"),
        graphql=("templates",),
        group="templates",
        verb="list",
    ),
    _op(
        "template",
        "template_get",
        cli=("template get",),
        rest=("GET", "/templates/{ref...}"),
        graphql=("template",),
        group="templates",
        verb="get",
    ),
    # ------------------------------------------------------------------ secrets
    _op(
        "secretsList",
        "secrets_list",
        cli=("secret list",),
        rest=("GET", "/secrets"),
        graphql=("secrets",),
        group="secrets",
        verb="list",
    ),
    _op(
        "secretGet",
        "secret_get",
        cli=("secret get",),
        rest=("GET", "/secrets/{name}"),
        graphql=("secret",),
        group="secrets",
        verb="get",
    ),
    _op(
        "secretValue",
        "secret_value",
        cli=("secret reveal",),
        rest=("GET", "/secrets/{name}/value"),
        graphql=("secretValue",),
        group="secrets",
        verb="value",
        privileged=True,
    ),
    _op(
        "secretSet",
        "secret_set",
        cli=("secret set",),
        rest=("POST", "/secrets/{name}"),
        graphql=("secretSet",),
        group="secrets",
        verb="set",
        mutating=True,
    ),
    _op(
        "secretDelete",
        "secret_delete",
        cli=("secret delete",),
        rest=("DELETE", "/secrets/{name}"),
        graphql=("secretDelete",),
        group="secrets",
        verb="delete",
        mutating=True,
    ),
    # ------------------------------------------------------------------ tokens (served by the operator)
    _op(
        "mintConnectionToken",
        cli=("token mint",),
        rest=("POST", "/tokens/mint"),
        graphql=("mintConnectionToken",),
        group="tokens",
        verb="mint",
        privileged=True,
    ),
    _op(
        "mintRouteToken",
        cli=("token route",),
        rest=("POST", "/tokens/route"),
        graphql=("mintRouteToken",),
        group="tokens",
        verb="route",
        privileged=True,
    ),
    # ------------------------------------------------------------------ files
    _op(
        "fileList",
        "file_list",
        cli=("file list",),
        rest=("GET", "/files"),
        group="files",
        verb="list",
        omit_graphql="not in the GraphQL contract",
    ),
    _op(
        "fileStat",
        "file_stat",
        cli=("file stat",),
        rest=("GET", "/files/stat"),
        group="files",
        verb="stat",
        omit_graphql="not in the GraphQL contract",
    ),
    _op(
        "fileRead",
        "file_content",
        cli=("file read",),
        rest=("GET", "/files/content"),
        group="files",
        verb="read",
        omit_graphql=FILES_BY_SOURCE,
    ),
    _op(
        "fileWrite",
        "file_put",
        cli=("file write",),
        rest=("PUT", "/files/content"),
        group="files",
        verb="write",
        mutating=True,
        privileged=True,
        omit_graphql=FILES_BY_SOURCE,
    ),
    _op(
        "fileDelete",
        "file_delete",
        cli=("file delete",),
        rest=("DELETE", "/files"),
        group="files",
        verb="delete",
        mutating=True,
        privileged=True,
        omit_graphql="not in the GraphQL contract",
    ),
    _op(
        "sourceFileRead",
        "file_read",
        cli=("file get",),
        graphql=("file",),  # templates-workspaces-git §9
        omit_rest="source-scoped form of fileRead (templates-workspaces-git §9); REST serves root/workspace",
    ),
    _op(
        "sourceFileWrite",
        "file_write",
        cli=("file set",),
        graphql=("fileWrite",),  # templates-workspaces-git §9
        mutating=True,
        privileged=True,
        omit_rest="source-scoped form of fileWrite (templates-workspaces-git §9); REST serves root/workspace",
    ),
    # ------------------------------------------------------------------ local-only commands
    _op("doctor", "doctor", cli=("doctor",), omit_rest=LOCAL_ONLY, omit_graphql=LOCAL_ONLY),
    _op(
        "plugins",
        cli=("plugins",),
        omit_rest="lists the local installation",
        omit_graphql="lists the local installation",
    ),
    _op(
        "operatorServe",
        cli=("operator",),
        omit_rest="is the operator process itself",
        omit_graphql="is the operator process itself",
    ),
    _op(
        "operatorSchema",
        cli=("operator schema",),
        omit_rest="prints the served GraphQL SDL",
        omit_graphql="the schema is available through introspection",
    ),
)

BY_ID: dict[str, Operation] = {op.id: op for op in OPERATIONS}

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}")


def get(op_id: str) -> Operation:
    """The registry entry for ``op_id`` (KeyError when unknown: a programming error)."""
    return BY_ID[op_id]


def flask_rule(path: str) -> str:
    """A spec path as a Flask/werkzeug rule: ``{name}`` → ``<name>``, ``{ref...}`` → ``<path:ref>``."""
    return _PARAM.sub(lambda m: f"<path:{m.group(1)}>" if m.group(2) else f"<{m.group(1)}>", path)


def openapi_path(path: str) -> str:
    """A spec path as an OpenAPI path template (``{ref...}`` → ``{ref}``)."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def rest_routes() -> list[tuple[str, str, Operation]]:
    """Every distinct ``(METHOD, spec path)`` with the first operation that claims it."""
    seen: dict[tuple[str, str], Operation] = {}
    for op in OPERATIONS:
        if op.rest is not None and op.rest not in seen:
            seen[op.rest] = op
    return [(method, path, op) for (method, path), op in seen.items()]


def missing_surfaces() -> list[str]:
    """Problems of the table itself: an operation absent from a surface without a reason (§7 rule 3)."""
    problems = []
    for op in OPERATIONS:
        if not op.cli and not op.omit_cli:
            problems.append(f"{op.id}: no CLI command and no omit reason")
        if op.rest is None and not op.omit_rest:
            problems.append(f"{op.id}: no REST route and no omit reason")
        if not op.graphql and not op.omit_graphql:
            problems.append(f"{op.id}: no GraphQL field and no omit reason")
        if op.group and op.group not in MCP_GROUPS:
            problems.append(f"{op.id}: unknown MCP group {op.group!r}")
    return problems


def mcp_descriptor(version: str) -> dict[str, Any]:
    """The MCP descriptor (§5.5), generated from the registry."""
    tools: list[str] = []
    operations: list[dict[str, Any]] = []
    for op in OPERATIONS:
        if not op.tool:
            continue
        tools.append(op.tool)
        operations.append(
            {
                "tool": op.tool,
                "operation": op.id,
                "method": op.rest_method,
                "path": op.rest_path,
                "graphql": op.graphql[0] if op.graphql else "",
                "mutating": op.mutating,
                "privileged": op.privileged,
            }
        )
    return {"name": "angee-operator", "version": version, "tools": tools, "operations": operations}
