"""Marshmallow schemas of the REST surface: request bodies (loaded, unknown keys ignored), query
parameters and the main response shapes (documentation only; responses are rendered by ``to_wire``)."""

from __future__ import annotations

import functools
import types
from typing import Any

from marshmallow import Schema, fields

from angee import api
from angee.api.templates import StackInitResult as StackInitResultType
from angee.operator.rest import Body
from angee.operator.tokens import ConnectionToken as ConnectionTokenType

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


@functools.cache
def wire_schema(cls: type) -> type[Schema]:
    """The marshmallow schema of a wire dataclass (``angee.api``): its fields with their types, ``key?``
    fields optional, the others required. One source of truth for the JSON shapes and the OpenAPI doc."""
    import dataclasses
    import typing

    def field_for(hint: Any, required: bool) -> fields.Field:
        origin = typing.get_origin(hint)
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if origin in (typing.Union, types.UnionType):
            return field_for(args[0], required)
        if dataclasses.is_dataclass(hint):
            return fields.Nested(wire_schema(hint), required=required)
        if origin is list:
            return fields.List(field_for(args[0], True), required=required)
        if origin is dict:
            return fields.Dict(keys=fields.String(), values=field_for(args[1], True), required=required)
        simple = {str: fields.String, int: fields.Integer, bool: fields.Boolean, float: fields.Float}
        return simple.get(hint, fields.Raw)(required=required)

    hints = typing.get_type_hints(cls)
    spec = {}
    for f in dataclasses.fields(cls):
        made = field_for(hints[f.name], not f.metadata.get("omit_empty"))
        wire = f.metadata.get("wire")
        if wire:
            made.data_key = wire
        spec[f.name] = made
    return Schema.from_dict(spec, name=cls.__name__)


MutationResult = wire_schema(api.MutationResult)
StackInitResult = wire_schema(StackInitResultType)
ServiceState = wire_schema(api.ServiceState)
JobState = wire_schema(api.JobState)
WorkspaceRef = wire_schema(api.WorkspaceRef)
StackStatus = wire_schema(api.StackStatus)
SecretRef = wire_schema(api.SecretRef)
SecretValue = wire_schema(api.SecretValue)
ConnectionToken = wire_schema(ConnectionTokenType)


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
