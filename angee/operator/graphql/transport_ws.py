"""GraphQL over WebSocket (spec operator-and-cli §3.3): ``graphql-transport-ws`` and legacy ``graphql-ws``.

The handshake checks the Origin allowlist (§4.4, 403) and picks the protocol: ``graphql-transport-ws``
when offered, else the legacy protocol (also for a client offering none). The client must send
``connection_init`` within the init timeout (else close 4408); with an admin token configured its
payload ``Authorization: Bearer <t>`` must pass the §4.1 check (else close 4403, legacy: a
``connection_error`` first). Each operation runs on its own thread; closing the socket cancels them.
Protocol violations close with 4400 (bad message), 4401 (subscribe before ack), 4409 (duplicate id)
and 4429 (second init). Operator shutdown closes every socket with 1001.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from angee.operator.graphql.execution import RequestError, ResultStream
from angee.operator.graphql.hub import END, TIMEOUT

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
RECEIVE_SLICE = 0.5


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Operation:
    def __init__(self, op_id: str) -> None:
        self.id = op_id
        self.cancelled = threading.Event()
        self.stream: ResultStream | None = None
        self.lock = threading.Lock()

    def cancel(self) -> None:
        with self.lock:
            self.cancelled.set()
            stream = self.stream
        if stream is not None:
            stream.close()


class WebSocketSession:
    """One GraphQL WebSocket connection (either protocol) over a ``simple_websocket`` socket."""

    def __init__(self, ws: Any, gql: Any, protocol: str, remote: str) -> None:
        self.ws = ws
        self.gql = gql
        self.legacy = protocol != TRANSPORT_WS
        self.remote = remote
        self.context: Any = None
        self._send_lock = threading.Lock()
        self._ops: dict[str, _Operation] = {}
        self._ops_lock = threading.Lock()
        self.closed = threading.Event()

    # ------------------------------------------------------------------ socket helpers

    def send(self, message: dict[str, Any]) -> bool:
        from simple_websocket import ConnectionClosed

        text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        with self._send_lock:
            if self.closed.is_set():
                return False
            try:
                self.ws.send(text)
                return True
            except (ConnectionClosed, OSError):
                self.closed.set()
                return False

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket with ``code`` (once) and cancel every operation."""
        with self._send_lock:
            if not self.closed.is_set():
                self.closed.set()
                try:
                    self.ws.close(code, reason)
                except Exception:  # already closed by the peer
                    pass
        self._cancel_all()

    def shutdown(self) -> None:
        """Operator shutdown: close with 1001 (going away)."""
        self.close(1001, "operator shutting down")

    def _receive(self, timeout: float) -> Any:
        """A decoded client message, ``None`` on timeout; raises _Close on a bad message or a closed socket."""
        from simple_websocket import ConnectionClosed

        try:
            raw = self.ws.receive(timeout=timeout)
        except ConnectionClosed:
            raise _Close(0, "closed") from None
        if raw is None:
            if self.closed.is_set() or not self.ws.connected:
                raise _Close(0, "closed")
            return None
        try:
            message = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _Close(4400, "Invalid message received") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _Close(4400, "Invalid message received")
        return message

    # ------------------------------------------------------------------ the session

    def run(self) -> None:
        """Serve the connection until it closes (client, protocol error or shutdown)."""
        if not self.gql.register(self):
            self.close(1001, "operator shutting down")
            return
        try:
            self._serve()
        except _Close as close:
            if close.code:
                self.close(close.code, close.reason)
        finally:
            self.gql.unregister(self)
            self.close(1000, "")

    def _serve(self) -> None:
        deadline = time.monotonic() + self.gql.init_timeout
        next_ka = 0.0
        while not self.closed.is_set():
            if self.context is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _Close(4408, "Connection initialisation timeout")
                message = self._receive(min(left, RECEIVE_SLICE))
            else:
                if self.legacy and time.monotonic() >= next_ka:
                    self.send({"type": "ka"})
                    next_ka = time.monotonic() + self.gql.keepalive
                message = self._receive(RECEIVE_SLICE)
            if message is None:
                continue
            self._handle(message)
            if self.legacy and self.context is not None and next_ka == 0.0:
                self.send({"type": "ka"})
                next_ka = time.monotonic() + self.gql.keepalive

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            self._init(message.get("payload"))
        elif kind == "ping" and not self.legacy:
            pong: dict[str, Any] = {"type": "pong"}
            if "payload" in message:
                pong["payload"] = message["payload"]
            self.send(pong)
        elif kind == "pong" and not self.legacy:
            return
        elif kind == ("start" if self.legacy else "subscribe"):
            self._subscribe(message)
        elif kind == ("stop" if self.legacy else "complete"):
            self._cancel(message.get("id"))
        elif kind == "connection_terminate" and self.legacy:
            raise _Close(1000, "")
        else:
            raise _Close(4400, "Invalid message received")

    def _init(self, payload: Any) -> None:
        from angee.operator.auth import OPEN, bearer_token

        if self.context is not None:
            raise _Close(4429, "Too many initialisation requests")
        if payload is not None and not isinstance(payload, dict):
            raise _Close(4400, "Invalid message received")
        payload = payload or {}
        principal: Any = OPEN
        if not self.gql.open_mode:
            header = payload.get("Authorization") or payload.get("authorization")
            principal = self.gql.authenticate(bearer_token(header if isinstance(header, str) else ""))
            if principal is None:
                if self.legacy:
                    self.send({"type": "connection_error", "payload": {"message": "Forbidden"}})
                raise _Close(4403, "Forbidden")
        self.context = self.gql.context(principal, self.remote)
        self.send({"type": "connection_ack"})

    def _subscribe(self, message: dict[str, Any]) -> None:
        if self.context is None:
            raise _Close(4401, "Unauthorized")
        op_id = message.get("id")
        payload = message.get("payload")
        if not isinstance(op_id, str) or not op_id or not isinstance(payload, dict):
            raise _Close(4400, "Invalid message received")
        with self._ops_lock:
            if op_id in self._ops:
                if self.legacy:  # graphql-ws: a repeated id restarts the operation
                    self._ops.pop(op_id).cancel()
                else:
                    raise _Close(4409, f"Subscriber for {op_id} already exists")
            op = self._ops[op_id] = _Operation(op_id)
        try:
            prepared = self.gql.prepare(payload, self.context)
        except RequestError as err:
            with self._ops_lock:
                self._ops.pop(op_id, None)
            error_payload: Any = err.errors[0] if self.legacy else err.errors
            self.send({"id": op_id, "type": "error", "payload": error_payload})
            return
        thread = threading.Thread(target=self._run_operation, args=(op, prepared), daemon=True)
        thread.name = f"angee-graphql-ws-{op_id}"[:60]
        thread.start()

    def _run_operation(self, op: _Operation, prepared: Any) -> None:
        stream: ResultStream | None = None
        try:
            stream = self.gql.open(prepared)
            with op.lock:
                op.stream = stream
                cancelled = op.cancelled.is_set()
            if cancelled:
                return
            while not op.cancelled.is_set() and not self.closed.is_set():
                item = stream.next(timeout=RECEIVE_SLICE)
                if item is TIMEOUT:
                    continue
                if item is END:
                    break
                self.send({"id": op.id, "type": "data" if self.legacy else "next", "payload": item})
            if not op.cancelled.is_set():
                self.send({"id": op.id, "type": "complete"})
        finally:
            if stream is not None:
                stream.close()
            with self._ops_lock:
                if self._ops.get(op.id) is op:
                    del self._ops[op.id]

    def _cancel(self, op_id: Any) -> None:
        with self._ops_lock:
            op = self._ops.pop(op_id, None) if isinstance(op_id, str) else None
        if op is not None:
            op.cancel()

    def _cancel_all(self) -> None:
        with self._ops_lock:
            ops = list(self._ops.values())
            self._ops.clear()
        for op in ops:
            op.cancel()


def _finished_response(ws: Any) -> Any:
    """What the view returns once the socket is done (the server must not write an HTTP response)."""
    from flask import Response

    class WebSocketDone(Response):
        def __call__(self, environ: Any, start_response: Any) -> Any:
            if ws.mode == "gunicorn":
                raise StopIteration()
            if ws.mode == "werkzeug":
                return super().__call__(environ, start_response)
            return []

    return WebSocketDone()


def choose_protocol(header: str | None) -> tuple[str, str | None]:
    """``(protocol, subprotocol to echo)`` for a ``Sec-WebSocket-Protocol`` offer."""
    offered = [p.strip() for p in (header or "").split(",") if p.strip()]
    if TRANSPORT_WS in offered:
        return TRANSPORT_WS, TRANSPORT_WS
    if LEGACY_WS in offered:
        return LEGACY_WS, LEGACY_WS
    return LEGACY_WS, None


def websocket_endpoint(gql: Any) -> Any:
    """Handle ``GET /graphql`` with ``Upgrade: websocket``: Origin check, handshake, session."""
    from flask import current_app, request
    from simple_websocket import ConnectionError as HandshakeError
    from simple_websocket import Server

    from angee.operator.auth import remote_address

    if not gql.origin_allowed(request.headers.get("Origin")):
        body = json.dumps({"error": "cross-origin request rejected"})
        return current_app.response_class(body, status=403, mimetype="application/json")
    protocol, echo = choose_protocol(request.headers.get("Sec-WebSocket-Protocol"))
    try:
        ws = Server(request.environ, subprotocols=[echo] if echo else None, max_message_size=1 << 20)
    except (HandshakeError, RuntimeError):
        body = json.dumps({"errors": [{"message": "transport not supported"}], "data": None})
        return current_app.response_class(body, status=400, mimetype="application/json")
    WebSocketSession(ws, gql, protocol, remote_address(request.environ)).run()
    return _finished_response(ws)
