"""Marshmallow schemas of the REST surface: request bodies (loaded, unknown keys ignored), query
parameters and the main response shapes (documentation only; responses are rendered by ``to_wire``)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from angee.operator.rest import Body

Str = fields.String


def StrMap(**kw: Any) -> fields.Dict:  # noqa: N802 - reads like a field class
    """A ``{str: str}`` field."""
    return fields.Dict(keys=fields.String(), values=fields.String(), **kw)


def StrList(**kw: Any) -> fields.List:  # noqa: N802 - reads like a field class
    """A ``[str]`` field."""
    return fields.List(fields.String(), **kw)


# --------------------------------------------------------------------------- request bodies


class StackInitBody(Body):
    template = Str(required=True)
    path = Str()
    inputs = StrMap()
    force = fields.Boolean()
    yes = fields.Boolean(metadata={"description": "ignored: the server never prompts"})


class StackUpdateBody(Body):
    template = fields.Boolean(metadata={"description": "re-render angee.yaml from its stack template"})
    dry_run = fields.Boolean()
    overwrite = fields.Boolean()
    inputs = StrMap()


class StackRuntimeBody(Body):
    services = StrList()
    build = fields.Boolean()


class ServiceInitBody(Body):
    name = Str(required=True)
    runtime = Str(metadata={"enum": ["container", "local"]})
    image = Str()
    command = StrList()
    mounts = StrList()
    env = StrMap()
    ports = StrList()
    workdir = Str()
    start = fields.Boolean()


class ServiceUpdateBody(Body):
    runtime = Str(metadata={"enum": ["container", "local"]})
    image = Str()
    command = StrList()
    mounts = StrList()
    env = StrMap()
    ports = StrList()
    workdir = Str()


class ServiceCreateBody(Body):
    template = Str(required=True)
    workspace = Str(required=True)
    inputs = StrMap()
    name = Str()
    start = fields.Boolean()


class ServiceTemplateUpdateBody(Body):
    inputs = StrMap()
    dry_run = fields.Boolean()
    overwrite = fields.Boolean()


class InputsBody(Body):
    inputs = StrMap()


class RefBody(Body):
    ref = Str()


class RequiredRefBody(Body):
    ref = Str(required=True)


class WorkspaceCreateBody(Body):
    template = Str(required=True)
    name = Str()
    inputs = StrMap()
    ttl = Str(metadata={"description": "duration such as 90s, 1h30m"})
    sync = fields.Boolean()


class WorkspaceUpdateBody(Body):
    inputs = StrMap()
    ttl = Str()
    overwrite = fields.Boolean()


class SyncBaseBody(Body):
    method = Str(metadata={"enum": ["merge", "rebase"]})


class PublishBody(Body):
    remote = Str()
    branch = Str()


class LeaseBody(Body):
    owner = Str(required=True)
    ttl = Str()


class MintBody(Body):
    actor = Str(metadata={"description": "required"})
    scope = StrList()
    ttl = Str()


class RouteTokenBody(Body):
    actor = Str(metadata={"description": "required"})
    service = Str(metadata={"description": "required"})
    ttl = Str()


class SecretSetBody(Body):
    value = Str(metadata={"description": "required, non-empty, at most 65536 bytes"})


class FileWriteBody(Body):
    path = Str(required=True)
    workspace = Str()
    content = Str(required=True)
    encoding = Str(metadata={"enum": ["utf-8", "base64"]})
    create_dirs = fields.Boolean()
    if_match = Str(metadata={"description": "sha256 hex the current file must have"})


# --------------------------------------------------------------------------- query parameters (docs)


class PurgeQuery(Schema):
    purge = fields.Boolean()


class WorkspaceDestroyQuery(Schema):
    purge = fields.Boolean()
    force = fields.Boolean()


class StopQuery(Schema):
    stop = fields.Boolean(metadata={"description": "default true; stop=false keeps it running"})


class FollowQuery(Schema):
    follow = fields.Boolean()


class StackLogsQuery(Schema):
    service = fields.List(fields.String())
    follow = fields.Boolean()


class RefQuery(Schema):
    ref = Str()


class TopologyQuery(Schema):
    with_commits = fields.Integer()


class ReleaseQuery(Schema):
    owner = Str()
    discard = fields.Boolean()


class DryRunQuery(Schema):
    dry_run = fields.Boolean()


class FilesQuery(Schema):
    path = Str()
    workspace = Str()
    recursive = fields.Boolean()


class FileQuery(Schema):
    path = Str()
    workspace = Str()


class EdgeVerifyQuery(Schema):
    service = Str()
    token = Str()


# --------------------------------------------------------------------------- responses (docs)


class ErrorResponse(Schema):
    error = Str(required=True)
    kind = Str()
    name = Str()
    field = Str()
    reason = Str()
    output = Str()


class MutationResult(Schema):
    status = Str(required=True)
    name = Str()
    message = Str()


class StackInitResult(Schema):
    status = Str(required=True)
    template = Str(required=True)
    root = Str(required=True)


class ServiceState(Schema):
    name = Str(required=True)
    runtime = Str(required=True)
    status = Str(required=True)
    health = Str()


class JobState(Schema):
    name = Str(required=True)
    runtime = Str(required=True)


class WorkspaceRef(Schema):
    name = Str(required=True)
    path = Str(required=True)
    template = Str(required=True)
    chain_root = Str()
    allocations = fields.Dict(keys=fields.String(), values=fields.Integer())
    process_compose_port = fields.Integer()
    playwright_mcp_name = Str()
    playwright_mcp_url = Str()
    ttl = Str()
    ttl_expires_at = Str()


class StackStatus(Schema):
    root = Str(required=True)
    name = Str(required=True)
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ServiceState), required=True)
    jobs = fields.Dict(keys=fields.String(), values=fields.Nested(JobState), required=True)
    workspaces = fields.Dict(keys=fields.String(), values=fields.Nested(WorkspaceRef), required=True)


class SecretRef(Schema):
    name = Str(required=True)
    declared = fields.Boolean(required=True)
    has_value = fields.Boolean(required=True)
    required = fields.Boolean()
    generated = fields.Boolean()
    import_ = Str(data_key="import")
    env_var = Str()


class SecretValue(Schema):
    name = Str(required=True)
    value = Str(required=True)


class ConnectionToken(Schema):
    token = Str(required=True)
    actor = Str(required=True)
    expires_at = Str(required=True)


class McpOperation(Schema):
    tool = Str()
    operation = Str()
    method = Str()
    path = Str()
    graphql = Str()
    mutating = fields.Boolean()
    privileged = fields.Boolean()


class McpDescriptor(Schema):
    name = Str()
    version = Str()
    tools = StrList()
    operations = fields.List(fields.Nested(McpOperation))


class Health(Schema):
    status = Str(required=True)
