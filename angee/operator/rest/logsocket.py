"""The per-service live log socket ``GET /services/{name}/logs/stream`` (operator-and-cli §3.6).

Order of checks, all before the WebSocket upgrade: in-handler auth (a route token for ``svc:<name>`` or
anything the §4.1 check accepts; else 401), the service must be declared (404), the upstream follow is
opened (its failure is the answer, e.g. 500), then the Origin allowlist (§4.4, 403). After the upgrade
every log line is one text frame of LogLine JSON; the server pings every 10 s (a send blocked for 10 s
is a dead client); client frames are ignored; the client going away stops the follow process; the
upstream ending closes the socket with 1000, operator shutdown with 1001.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from typing import Any

from flask import Response, current_app, request

from angee.errors import NotFound, Unauthorized
from angee.operator.auth import origin_allowed, socket_credential
from angee.operator.rest.logfollow import END, TIMEOUT, FollowFailure, LogFollower

MAX_TAIL = 10_000
MAX_LINE_BYTES = 1 << 20
PING_SECONDS = 10
WRITE_DEADLINE_SECONDS = 10
POLL_SECONDS = 0.25

_LEVELS = {
    "TRACE": "TRACE",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "NOTICE": "INFO",
    "WARN": "WARN",
    "WARNING": "WARN",
    "ERR": "ERROR",
    "ERROR": "ERROR",
    "CRIT": "ERROR",
    "CRITICAL": "ERROR",
    "FATAL": "ERROR",
    "PANIC": "ERROR",
}
_WORDS = "|".join(sorted(_LEVELS, key=len, reverse=True))
_LEVEL_PATTERNS = (
    re.compile(rf"""\blevel["']?\s*[=:]\s*["']?({_WORDS})\b""", re.IGNORECASE),  # level=warn, "level":"info"
    re.compile(rf"\[({_WORDS})\]", re.IGNORECASE),  # [ERROR]
    re.compile(rf"^\W*({_WORDS})\s*[:|]", re.IGNORECASE),  # INFO: ..., warning| ...
    re.compile(rf"(?:^|\s)({_WORDS})(?=\s)"),  # 2024-01-01 12:00:00 ERROR boom (upper case only)
)


def infer_level(message: str) -> str:
    """The LogLine level of a message, best effort (``""`` when no marker is found)."""
    for pattern in _LEVEL_PATTERNS:
        match = pattern.search(message)
        if match:
            return _LEVELS[match.group(1).upper()]
    return ""


def log_line(service: str, runtime: str, message: str) -> str:
    """One LogLine as compact JSON (``level`` only when inferred)."""
    body: dict[str, Any] = {"service": service, "runtime": runtime, "message": message}
    level = infer_level(message)
    if level:
        body["level"] = level
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def split_message(message: str, size: int = MAX_LINE_BYTES) -> list[str]:
    """A line as pieces of at most ``size`` UTF-8 bytes (cut on character boundaries)."""
    data = message.encode("utf-8")
    if len(data) <= size:
        return [message]
    pieces: list[str] = []
    while data:
        end = min(size, len(data))
        while end < len(data) and end > 0 and (data[end] & 0xC0) == 0x80:
            end -= 1
        pieces.append(data[:end].decode("utf-8", errors="replace"))
        data = data[end:]
    return pieces


def parse_tail(args: Any) -> int:
    """``?tail=`` (alias ``?n=``): lines to replay; invalid or negative → 0, at most 10 000."""
    raw = args.get("tail")
    if raw is None:
        raw = args.get("n")
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        return 0
    return min(max(value, 0), MAX_TAIL)


def _json(body: dict[str, Any], status: int) -> Response:
    return current_app.response_class(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype="application/json",
    )


def _finished(ws: Any) -> Response:
    """What the view returns once the socket is done: the server must not write an HTTP response."""

    class WebSocketDone(Response):
        def __call__(self, environ: Any, start_response: Any) -> Any:
            if ws.mode == "gunicorn":
                raise StopIteration()
            if ws.mode == "werkzeug":
                return super().__call__(environ, start_response)
            return []

    return WebSocketDone()


def _offered_protocol(header: str | None) -> str:
    """The first ``Sec-WebSocket-Protocol`` entry: echoed as the selected subprotocol (browsers abort
    when none is selected; it carries the credential when the client authenticates that way)."""
    first = (header or "").split(",")[0].strip()
    return first


def serve_log_socket(ctx: Any, name: str) -> Response:
    """Handle one ``GET /services/{name}/logs/stream`` (see the module docstring for the order)."""
    from simple_websocket import ConnectionError as HandshakeError
    from simple_websocket import Server

    token, _ = socket_credential(request.headers, request.args)
    if ctx.auth.check_route(token, name) is None:
        return _json(Unauthorized().to_wire(), 401)
    tail = parse_tail(request.args)
    service = ctx.platform.load().services.get(name)
    if service is None:
        raise NotFound("service", name)
    if (request.headers.get("Upgrade") or "").strip().lower() != "websocket":
        return _json({"error": "websocket upgrade required"}, 400)
    follower = LogFollower(ctx.root, name, tail)
    failure = follower.open()
    if failure is not None:
        return _json(failure.body, failure.status)
    if not origin_allowed(request.headers.get("Origin"), ctx.allowed_origins):
        follower.close()
        return _json({"error": "cross-origin request rejected"}, 403)
    protocol = _offered_protocol(request.headers.get("Sec-WebSocket-Protocol"))
    try:
        ws = Server(
            request.environ,
            subprotocols=[protocol] if protocol else None,
            ping_interval=PING_SECONDS,
            max_message_size=1 << 20,
        )
    except (HandshakeError, RuntimeError):
        follower.close()
        return _json({"error": "websocket handshake failed"}, 400)
    LogSocketSession(ws, follower, name, service.runtime, ctx.stopping).run()
    return _finished(ws)


class LogSocketSession:
    """Pumps one follow into one WebSocket until either side ends; always stops the follow."""

    def __init__(
        self, ws: Any, follower: LogFollower, service: str, runtime: str, stopping: threading.Event
    ) -> None:
        self.ws = ws
        self.follower = follower
        self.service = service
        self.runtime = runtime
        self.stopping = stopping
        _set_write_deadline(ws, WRITE_DEADLINE_SECONDS)

    def run(self) -> None:
        try:
            self._pump()
        finally:
            self.follower.close()

    def _pump(self) -> None:
        while True:
            if self.stopping.is_set():
                self._close(1001, "operator shutting down")
                return
            if not self.ws.connected:  # the client closed, or a read error
                return
            self._drop_client_frames()
            item = self.follower.get(POLL_SECONDS)
            if item is TIMEOUT:
                continue
            if item is END:
                self._close(1000, "")
                return
            if isinstance(item, FollowFailure):
                self._close(1011, item.message.encode("utf-8")[:120].decode("utf-8", errors="ignore"))
                return
            for piece in split_message(item):
                if not self._send(log_line(self.service, self.runtime, piece)):
                    return

    def _drop_client_frames(self) -> None:
        """Client frames are ignored (read and discarded, so they never pile up)."""
        from simple_websocket import ConnectionClosed

        try:
            while self.ws.input_buffer:
                self.ws.receive(timeout=0)
        except ConnectionClosed:
            pass

    def _send(self, text: str) -> bool:
        from simple_websocket import ConnectionClosed

        try:
            self.ws.send(text)
            return True
        except (ConnectionClosed, OSError):
            return False

    def _close(self, code: int, reason: str) -> None:
        try:
            self.ws.close(code, reason)
        except Exception:  # already closed by the peer
            pass


def _set_write_deadline(ws: Any, seconds: int) -> None:
    """A send blocked for ``seconds`` fails (SO_SNDTIMEO) instead of pinning the handler forever."""
    sock = getattr(ws, "sock", None)
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, 0))
    except (OSError, struct.error):
        pass
