"""``/graphql`` over HTTP (spec operator-and-cli §3.1): the POST rules, SSE dispatch and the GET upgrade.

POST order after the operator's bearer gate and cross-origin check: media type (415) → size (413) →
decode (400) → parse/validate (422) → execute (200). ``Accept: text/event-stream`` with a JSON body
switches to SSE (§3.2); a subscription without it is a 400. GET is the WebSocket endpoint (§3.3).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app, request

from angee.operator.graphql.execution import RequestError, ResultStream

MAX_BODY = 1 << 20
MEDIA_TYPES = ("application/json", "application/graphql")
EXTENSION_KEY = "angee.graphql"


def surface() -> Any:
    """The :class:`GraphQLSurface` of the current app."""
    return current_app.extensions[EXTENSION_KEY]


def _json(body: Any, status: int) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(text, status=status, mimetype="application/json")


def _errors(message: str, status: int) -> Response:
    return _json({"errors": [{"message": message}], "data": None}, status)


def _principal() -> Any:
    from flask import g

    from angee.operator.auth import OPEN

    return getattr(g, "principal", None) or OPEN


def _remote() -> str:
    from angee.operator.auth import remote_address

    return remote_address(request.environ)


def _read_body() -> bytes | None:
    """The request body, or ``None`` when it exceeds the 1 MiB cap."""
    from werkzeug.exceptions import RequestEntityTooLarge

    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    try:
        data = request.stream.read(MAX_BODY + 1)
    except RequestEntityTooLarge:
        return None
    return None if len(data) > MAX_BODY else data


def _payload(raw: bytes, mimetype: str) -> dict[str, Any] | str:
    """The GraphQL request object, or the decode error message."""
    if mimetype == "application/graphql":
        try:
            return {"query": raw.decode("utf-8")}
        except UnicodeDecodeError as err:
            return f"json body could not be decoded: {err}"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        return f"json body could not be decoded: {err}"
    if not isinstance(data, dict):
        return "json body could not be decoded: expected a JSON object"
    return data


def graphql_post() -> Response:
    """``POST /graphql``: queries, mutations, and any operation over SSE."""
    from angee.operator.graphql.transport_sse import sse_response

    mimetype = (request.mimetype or "").lower()
    if mimetype not in MEDIA_TYPES:
        return _json({"error": "unsupported GraphQL content type"}, 415)
    raw = _read_body()
    if raw is None:
        return _json({"error": "request body too large"}, 413)
    payload = _payload(raw, mimetype)
    if isinstance(payload, str):
        return _errors(payload, 400)
    gql = surface()
    sse = mimetype == "application/json" and "text/event-stream" in (request.headers.get("Accept") or "")
    context = gql.context(_principal(), _remote())
    try:
        prepared = gql.prepare(payload, context)
    except RequestError as err:
        if sse:
            return sse_response(
                ResultStream.single({"data": None, "errors": err.errors}), request.environ, gql
            )
        return _json({"errors": err.errors, "data": None}, 422)
    if sse:
        return sse_response(gql.open(prepared), request.environ, gql)
    if prepared.is_subscription:
        return _errors("subscriptions require text/event-stream or the WebSocket transport", 400)
    stream = gql.open(prepared)
    try:
        result = stream.next()
    finally:
        stream.close()
    return _json(result, 200)


def graphql_get() -> Any:
    """``GET /graphql``: the WebSocket endpoint; without ``Upgrade`` a 400."""
    from angee.operator.graphql.transport_ws import websocket_endpoint

    if (request.headers.get("Upgrade") or "").strip().lower() != "websocket":
        return _errors("transport not supported", 400)
    return websocket_endpoint(surface())


def install_routes(app: Flask, gql: Any) -> None:
    """Mount ``/graphql`` (POST behind the operator's gate; GET authenticates in the handler)."""
    from angee.operator.auth import auth_exempt

    app.extensions[EXTENSION_KEY] = gql

    def graphql() -> Any:
        return graphql_get() if request.method == "GET" else graphql_post()

    view = auth_exempt("GET")(graphql)
    app.add_url_rule("/graphql", endpoint="graphql", view_func=view, methods=["GET", "POST"])
    # werkzeug routes ``Upgrade: websocket`` requests only to rules marked websocket=True
    app.add_url_rule("/graphql", endpoint="graphql_ws", view_func=view, methods=["GET"], websocket=True)
