"""Token minting routes (§4.2): operator tokens and route tokens, behind the bearer gate."""

from __future__ import annotations

from flask import Response

from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import context, read_body, reply, route
from angee.operator.rest import schemas as s
from angee.operator.tokens import TokenError

bp = make_blueprint("tokens", "Operator and route tokens")


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


@route(bp, "mintConnectionToken", body=s.MintBody(), response=s.ConnectionToken())
def mint_connection_token() -> Response:
    """Mint an operator token (aud ``operator``) for an actor; TTL default 1h, at most 24h."""
    body = read_body(s.MintBody())
    if not (body.get("actor") or "").strip():
        raise TokenError("actor is required")
    token = context().tokens.mint_connection(body["actor"], _strings(body.get("scope")), body.get("ttl", ""))
    return reply(token)


@route(bp, "mintRouteToken", body=s.RouteTokenBody(), response=s.ConnectionToken())
def mint_route_token() -> Response:
    """Mint a route token (aud ``svc:<service>``) that opens only that service's log socket."""
    body = read_body(s.RouteTokenBody())
    token = context().tokens.mint_route(body.get("actor", ""), body.get("service", ""), body.get("ttl", ""))
    return reply(token)
