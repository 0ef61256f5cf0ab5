"""Service routes: list, init, create, update, lifecycle verbs, destroy, logs, endpoint, log socket."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, request

from angee import operations
from angee.api import to_wire
from angee.errors import AngeeError
from angee.operator.auth import auth_exempt
from angee.operator.rest import arg, call, context, flag, principal, read_body, reply, route
from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import schemas as s
from angee.operator.rest.stack import stream

bp = make_blueprint("services", "Services")

LOG_STREAM_ACTOR = "log-stream"


def service_request(body: dict[str, Any]) -> Any:
    """A ServiceInitRequest from a decoded body: absent lists/maps stay ``None`` ("not given")."""
    from angee.api.runtime import ServiceInitRequest

    return ServiceInitRequest(**body)


@route(bp, "serviceList", response=s.ServiceState(), many=True)
def service_list() -> Response:
    """Every declared service with its observed state, by name."""
    return reply(call("serviceList"))


@route(bp, "serviceInit", body=s.ServiceInitBody(), response=s.MutationResult())
def service_init() -> Response:
    """Declare a service (container with ``image``, local with ``command``)."""
    body = read_body(s.ServiceInitBody())
    return reply(call("serviceInit", service_request(body)), 201)


@route(bp, "serviceCreate", body=s.ServiceCreateBody(), response=s.ServiceState())
def service_create() -> Response:
    """Create a service from a service template inside a workspace."""
    body = read_body(s.ServiceCreateBody())
    result = call(
        "serviceCreate",
        body["template"],
        body["workspace"],
        inputs=body.get("inputs") or {},
        name=body.get("name", ""),
        start=body.get("start", False),
    )
    return reply(result, 201)


@route(bp, "serviceUpdate", body=s.ServiceUpdateBody(), response=s.MutationResult())
def service_update(name: str) -> Response:
    """Partial update: only the fields present in the body change (lists and maps replaced whole)."""
    body = read_body(s.ServiceUpdateBody())
    return reply(call("serviceUpdate", name, service_request(body)))


@route(bp, "serviceUpdateFromTemplate", body=s.ServiceTemplateUpdateBody())
def service_update_from_template(name: str) -> Response:
    """Re-render a templated service and merge its entry (``dry_run`` reports only)."""
    body = read_body(s.ServiceTemplateUpdateBody())
    result = call(
        "serviceUpdateFromTemplate",
        name,
        inputs=body.get("inputs") or {},
        dry_run=body.get("dry_run", False),
        overwrite=body.get("overwrite", False),
    )
    return reply(result)


@route(bp, "serviceDestroy", query=s.StopQuery(), response=s.MutationResult())
def service_destroy(name: str) -> Response:
    """Remove a service (stopped first unless ``?stop=false``)."""
    return reply(call("serviceDestroy", name, stop=arg("stop") != "false"))


def _lifecycle(op_id: str, verb: str) -> None:
    def handler(name: str) -> Response:
        return reply(call(op_id, name))

    handler.__name__ = f"service_{verb}"
    handler.__doc__ = f"Service {verb}."
    route(bp, op_id, response=s.MutationResult())(handler)


for _op_id, _verb in (
    ("serviceUp", "up"),
    ("serviceStart", "start"),
    ("serviceStop", "stop"),
    ("serviceRestart", "restart"),
):
    _lifecycle(_op_id, _verb)


@route(bp, "serviceLogs", query=s.FollowQuery())
def service_logs(name: str) -> Response:
    """A service's logs; ``?follow=true`` streams until disconnect."""
    return stream(call("serviceLogs", name, follow=flag("follow")))


@route(bp, "streamServiceLogs")
@auth_exempt()
def service_log_socket(name: str) -> Response:
    """Live log WebSocket: LogLine JSON per text frame (§3.6); authenticates in the handler."""
    from angee.operator.rest.logsocket import serve_log_socket

    return serve_log_socket(context(), name)


# werkzeug routes ``Upgrade: websocket`` requests only to rules marked websocket=True: the same view
# serves both (a plain GET gets its 401/404 or ``websocket upgrade required``).
bp.add_url_rule(
    operations.flask_rule(operations.get("streamServiceLogs").rest_path),
    endpoint="streamServiceLogsSocket",
    view_func=service_log_socket,
    methods=["GET"],
    websocket=True,
)


def log_stream_descriptor(name: str) -> dict[str, Any]:
    """The ``log_stream`` of a ServiceEndpoint (§3.6): socket URL and, with auth on, a fresh route token."""
    scheme = "wss" if request.is_secure else "ws"
    out: dict[str, Any] = {
        "url": f"{scheme}://{request.host}/services/{quote(name, safe='')}/logs/stream",
        "target": "operator",
        "protocol": "ws",
    }
    ctx = context()
    if not ctx.auth.open_mode:
        try:
            minted = ctx.tokens.mint_route(principal().actor or LOG_STREAM_ACTOR, name)
        except AngeeError:
            return out
        out["token"] = minted.token
        out["expires_at"] = minted.expires_at
    return out


@route(bp, "serviceEndpoint")
def service_endpoint(name: str) -> Response:
    """How to reach a service, with the operator log socket descriptor."""
    wire = to_wire(call("serviceEndpoint", name))
    if isinstance(wire, dict):
        wire["log_stream"] = log_stream_descriptor(name)
    return reply(wire)
