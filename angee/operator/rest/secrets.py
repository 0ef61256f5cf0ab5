"""Secret routes; set and delete write one audit line each on stderr, success or failure (§4.6)."""

from __future__ import annotations

from flask import Response, request

from angee.operator.auth import emit_audit, remote_address, secret_audit_line
from angee.operator.rest import BodyDecodeError, call, principal, read_body, reply, route
from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import schemas as s

bp = make_blueprint("secrets", "Secrets (values never appear in listings, errors or logs)")


def _audit(op: str, name: str, reason: str | None = None) -> None:
    emit_audit(secret_audit_line(op, name, remote_address(request.environ), reason, principal().actor))


@route(bp, "secretsList", response=s.SecretRef(), many=True)
def secrets_list() -> Response:
    """Declared secrets only, sorted, with whether a value is stored."""
    return reply(call("secretsList"))


@route(bp, "secretGet", response=s.SecretRef())
def secret_get(name: str) -> Response:
    """Metadata of any valid name (``declared: false`` when undeclared)."""
    return reply(call("secretGet", name))


@route(bp, "secretValue", response=s.SecretValue())
def secret_value(name: str) -> Response:
    """The stored value (404 when the backend has none)."""
    return reply(call("secretValue", name))


@route(bp, "secretSet", body=s.SecretSetBody(), response=s.SecretRef())
def secret_set(name: str) -> Response:
    """Store a value for any valid name; the declaration is never touched. Audited."""
    try:
        body = read_body(s.SecretSetBody())
    except BodyDecodeError:
        _audit("set", name, "decode")
        raise
    try:
        result = call("secretSet", name, body.get("value", ""))
    except Exception as exc:  # every failure is audited, typed or not
        _audit("set", name, str(exc))
        raise
    _audit("set", name)
    return reply(result)


@route(bp, "secretDelete", response=s.MutationResult())
def secret_delete(name: str) -> Response:
    """Remove the stored value (idempotent); the declaration stays. Audited."""
    try:
        result = call("secretDelete", name)
    except Exception as exc:  # every failure is audited, typed or not
        _audit("delete", name, str(exc))
        raise
    _audit("delete", name)
    return reply(result)
