"""Health, the MCP descriptor, the ingress status and the edge forward-auth target."""

from __future__ import annotations

from flask import Response, current_app, request

from angee import operations
from angee.api import MutationResult
from angee.operator.auth import socket_credential
from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import call, context, reply, route
from angee.operator.rest import schemas as s
from angee.operator.tokens import ROUTE_AUDIENCE_PREFIX

bp = make_blueprint("meta", "Health, MCP descriptor, ingress and edge")


@route(bp, "health", response=s.Health())
def health() -> Response:
    """Liveness probe; public even when a token is configured."""
    return reply(MutationResult(status="ok"))


@route(bp, "mcpDescriptor", response=s.McpDescriptor())
def mcp_descriptor() -> Response:
    """The MCP descriptor generated from the operation registry (§5.5)."""
    return reply(operations.mcp_descriptor(context().version))


@route(bp, "ingressStatus")
def ingress_status() -> Response:
    """The ingress edge status (LATER: type and routes from the manifest)."""
    return reply(call("ingressStatus"))


@route(bp, "edgeVerify", query=s.EdgeVerifyQuery())
def edge_verify() -> Response:
    """Forward-auth target: 200 (empty) iff the credential is a route token for ``?service=``."""
    service = (request.args.get("service") or "").strip()
    token, _ = socket_credential(request.headers, request.args)
    if service and token and context().tokens.verify(token, ROUTE_AUDIENCE_PREFIX + service) is not None:
        return current_app.response_class(b"", status=200)
    return reply({"error": "unauthorized"}, 401)
