"""The REST surface (operator-and-cli §1): shared plumbing for the per-area blueprints.

Each handler is a thin adapter: read the body and query (:func:`read_body`, :func:`flag`, ...), call one
Platform method through :func:`call` (which answers 501 when the Platform does not have that operation
yet), render with :func:`reply`. Routes come from the operation registry (:mod:`angee.operations`):
:func:`route` looks up the method and path of an operation id and documents the route for OpenAPI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import Response, current_app, request
from flask_smorest import Blueprint

from angee import operations
from angee.api import to_wire
from angee.errors import AngeeError, InvalidInput
from angee.operator.auth import Principal, auth_exempt

BODY_CAP = 1 << 20
JSON_MIMETYPE = "application/json"
TEXT_MIMETYPE = "text/plain; charset=utf-8"
REQUIRED_MESSAGE = "Missing data for required field."


class BodyDecodeError(AngeeError):
    """The request body is not JSON or does not fit the request schema (400 ``{"error": …}``)."""

    http_status = 400
    code = "INVALID_INPUT"


class OperationNotImplemented(AngeeError):
    """The route exists in the contract but the Platform has no such operation yet (501)."""

    http_status = 501
    code = "NOT_IMPLEMENTED"

    def __init__(self, operation: str) -> None:
        super().__init__(f"{operation} is not implemented yet")
        self.operation = operation


class Body(ma.Schema):
    """Base of every request body schema: unknown keys are ignored (§1.1)."""

    class Meta:
        unknown = ma.EXCLUDE


def context() -> Any:
    """The :class:`angee.operator.app.OperatorContext` of the current app."""
    return current_app.extensions["angee"]


def principal() -> Principal:
    """Who the current request runs as (set by the bearer gate)."""
    from flask import g

    return getattr(g, "principal", None) or Principal()


def platform_method(op_id: str) -> Callable[..., Any]:
    """The bound Platform method of ``op_id``; 501 when the Platform does not provide it yet."""
    name = operations.get(op_id).platform
    method = getattr(context().platform, name, None) if name else None
    if not callable(method):
        raise OperationNotImplemented(op_id)
    return method


def call(op_id: str, *args: Any, **kwargs: Any) -> Any:
    """Call the Platform method of ``op_id`` (501 when the Platform does not provide it yet).

    JSON reads (GET, not text) go through the context's read batcher: identical concurrent reads
    share one call that starts after all of them arrived.
    """
    method = platform_method(op_id)
    op = operations.get(op_id)
    batcher = getattr(context(), "reads", None)
    if batcher is None or request.method != "GET" or op.text or op.streaming:
        return method(*args, **kwargs)
    key = (op_id, repr(args), repr(sorted(kwargs.items())))
    return batcher.run(key, lambda: method(*args, **kwargs))


def implemented(op_id: str) -> bool:
    """Whether the Platform provides ``op_id`` (for routes that degrade instead of answering 501)."""
    name = operations.get(op_id).platform
    return bool(name) and callable(getattr(context().platform, name, None))


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        out: list[tuple[str, str]] = []
        for key in sorted(messages, key=str):
            sub = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(messages[key], sub))
        return out
    if isinstance(messages, list | tuple):
        out = []
        for item in messages:
            out.extend(_flatten(item, prefix))
        return out
    return [(prefix, str(messages))]


def _decode_error(error: ma.ValidationError) -> AngeeError:
    pairs = _flatten(error.messages)
    problems = [(path, msg) for path, msg in pairs if msg != REQUIRED_MESSAGE]
    if problems:
        path, msg = problems[0]
        if path == "_schema":
            return BodyDecodeError("request body must be a JSON object")
        return BodyDecodeError(f"{path}: {msg}")
    field = pairs[0][0] if pairs else ""
    return InvalidInput(field, "is required", message=f"{field} is required")


def read_json() -> Any:
    """The raw JSON body: an empty body is ``{}``; Content-Type is not checked (§1.1)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise BodyDecodeError("invalid JSON body: not UTF-8") from None
    except ValueError as exc:
        raise BodyDecodeError(f"invalid JSON body: {exc}") from None


def read_body(schema: ma.Schema) -> dict[str, Any]:
    """The body loaded through ``schema``: unknown keys dropped, JSON ``null`` treated as absent.

    Type errors → 400 ``{"error": "<field>: <message>"}``; a missing required field → InvalidInput
    naming it. Only the keys present in the body appear in the result (partial updates rely on it).
    """
    data = read_json()
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if v is not None}
    try:
        return schema.load(data)
    except ma.ValidationError as exc:
        raise _decode_error(exc) from None


def flag(name: str) -> bool:
    """A query flag: only the literal ``true`` enables it (§1.1)."""
    return request.args.get(name) == "true"


def arg(name: str, default: str = "") -> str:
    """One query parameter (the first when repeated)."""
    return request.args.get(name, default)


def arg_list(name: str) -> list[str]:
    """A repeated query parameter as a list (``?service=a&service=b``)."""
    return request.args.getlist(name)


def reply(result: Any, status: int = 200) -> Response:
    """A JSON response with the snake_case wire form of ``result``."""
    body = json.dumps(to_wire(result), ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(body, status=status, mimetype=JSON_MIMETYPE)


def error_reply(error: AngeeError) -> Response:
    """The ErrorResponse of a typed error with its HTTP status (§2)."""
    return reply(error.to_wire(), error.http_status)


def text_reply(text: str, status: int = 200) -> Response:
    """A ``text/plain; charset=utf-8`` response."""
    return current_app.response_class(text, status=status, content_type=TEXT_MIMETYPE)


# --------------------------------------------------------------------------- routes and OpenAPI


def blueprint(name: str, description: str) -> Blueprint:
    """A flask-smorest blueprint for one area (its name is the OpenAPI tag)."""
    return Blueprint(name, __name__, description=description)


def route(
    bp: Blueprint,
    op_id: str,
    *,
    body: ma.Schema | None = None,
    query: ma.Schema | None = None,
    response: ma.Schema | None = None,
    many: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated handler as the REST route of ``op_id`` (method and path from the registry).

    ``body``/``query``/``response`` only document the route (OpenAPI); handlers read their input with
    :func:`read_body` and friends so each can decide what a failure means (audit lines, 501, ...).
    """
    op = operations.get(op_id)
    if op.rest is None:  # pragma: no cover - programming error
        raise ValueError(f"operation {op_id} has no REST route")
    method, path = op.rest

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        params: list[dict[str, Any]] = []
        if body is not None:
            params.append({"in": "json", "required": False, "schema": body})
        if query is not None:
            params.append({"in": "query", "required": False, "schema": query})
        if op.text:
            ok: dict[str, Any] = {
                "description": "text/plain output" + (" (streamed)" if op.streaming else ""),
                "content_type": "text/plain",
                "schema": {"type": "string"},
            }
        else:
            ok = {"description": "OK", "content_type": None}
            if response is not None:
                ok["schema"] = type(response)(many=True) if many else response
        if op.streaming and not op.text:
            ok = {"description": "WebSocket upgrade (101)", "content_type": None}
        doc: dict[str, Any] = {
            "response": {"responses": {op.status: [ok]}},
            "success_status_codes": [op.status],
            "manual_doc": {"operationId": op_id},
        }
        if params:
            doc["arguments"] = {"parameters": params}
        if op.public:
            doc["manual_doc"]["security"] = []
            fn = auth_exempt()(fn)
        fn._apidoc = doc  # type: ignore[attr-defined]
        bp.route(operations.flask_rule(path), methods=[method], endpoint=op_id)(fn)
        return fn

    return decorate


def all_blueprints() -> list[Blueprint]:
    """Every REST area, imported here so the app factory registers them in one place."""
    from angee.operator.rest import (
        files,
        gitops,
        jobs,
        meta,
        secrets,
        services,
        sources,
        stack,
        templates,
        tokens,
        workspaces,
    )

    return [
        meta.bp,
        stack.bp,
        services.bp,
        jobs.bp,
        sources.bp,
        workspaces.bp,
        gitops.bp,
        templates.bp,
        secrets.bp,
        tokens.bp,
        files.bp,
    ]
