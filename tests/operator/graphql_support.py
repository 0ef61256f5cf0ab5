"""Helpers for the GraphQL tests: a stack root, operators on 127.0.0.1, HTTP/SSE/WS clients.

Two ways to serve the operator app (``angee.operator.app.create_app``): :func:`real_operator` runs the
production server (``angee.operator.server.serve``, gunicorn) in a child process; :func:`served` serves
the same app in this process on werkzeug's threaded server, so a test can reach the event hub (tick,
the poll function of a stream) and watch subscribers come and go.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MANIFEST = """\
version: 1
kind: stack
name: demo
secrets:
  api_key:
    required: true
  db-password:
    generated: true
"""

TOPOLOGY_QUERY = "subscription { onGitOpsTopologyChange { name summary { dirty branchMismatch } } }"


def write_stack(root: Path, manifest: str = MANIFEST) -> Path:
    """A stack root with ``angee.yaml`` (secrets, no services)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "angee.yaml").write_text(manifest)
    return root


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``condition`` until truthy (returns it); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# --------------------------------------------------------------------------- the served operator


def _operator_app(
    root: Path, token: str, allowed_origins: list[str], platform_factory: Callable[[str], Any] | None = None
) -> tuple[Any, Any]:
    """``(flask app, GraphQLSurface)`` of the operator core's app factory for ``root``."""
    from angee.operator.app import create_app
    from angee.operator.graphql import surface_of

    app = create_app(
        str(root), token=token or None, allowed_origins=allowed_origins, platform_factory=platform_factory
    )
    return app, surface_of(app)


class ServedOperator:
    """An operator app listening on 127.0.0.1 (ephemeral port) in a background thread."""

    def __init__(
        self,
        root: Path,
        token: str = "",
        allowed_origins: list[str] | None = None,
        platform_factory: Callable[[str], Any] | None = None,
    ) -> None:
        self.app, self.surface = _operator_app(root, token, allowed_origins or [], platform_factory)
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def hub(self) -> Any:
        return self.surface.hub

    def url(self, path: str = "/graphql", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.surface.stop()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def served(
    root: Path,
    token: str = "",
    allowed_origins: list[str] | None = None,
    platform_factory: Callable[[str], Any] | None = None,
) -> Iterator[ServedOperator]:
    operator = ServedOperator(root, token, allowed_origins, platform_factory)
    try:
        yield operator
    finally:
        operator.close()


_LAUNCHER = """
import sys
from angee.operator.app import create_app
from angee.operator.server import serve
root, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.exit(serve(create_app(root, token=token or None), host="127.0.0.1", port=port))
"""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RealOperator:
    """The production server (gunicorn, ``angee.operator.server.serve``) in a child process."""

    def __init__(self, root: Path, token: str = "") -> None:
        self.port = free_port()
        self.stderr_path = root.parent / f"operator-{self.port}.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(root), str(self.port), token],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if "operator listening on" not in line:
            self.stop()
            raise AssertionError(f"operator did not start: {line!r} {self.stderr()}")

    def url(self, path: str = "/graphql", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


@contextmanager
def real_operator(root: Path, token: str = "") -> Iterator[RealOperator]:
    operator = RealOperator(root, token)
    try:
        yield operator
    finally:
        operator.stop()


# --------------------------------------------------------------------------- HTTP and SSE clients


def post(
    operator: Any,
    body: bytes | str | dict[str, Any],
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """POST /graphql; returns ``(status, headers, decoded JSON body)``."""
    if isinstance(body, dict):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    conn = http.client.HTTPConnection("127.0.0.1", operator.port, timeout=30)
    try:
        conn.request("POST", "/graphql", body=data, headers={"Content-Type": content_type, **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw or b"null")
    finally:
        conn.close()


def query(operator: Any, text: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    """The JSON result of one GraphQL request that must answer 200."""
    status, _, body = post(operator, {"query": text, "variables": variables}, **kw)
    assert status == 200, body
    return body


class SSEStream:
    """A ``text/event-stream`` POST /graphql read frame by frame."""

    def __init__(self, operator: Any, payload: dict[str, Any], headers: dict[str, str] | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", operator.port, timeout=30)
        self.conn.request(
            "POST",
            "/graphql",
            body=json.dumps(payload),
            headers={"Content-Type": "application/json", "Accept": "text/event-stream", **(headers or {})},
        )
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}

    def frame(self) -> list[str]:
        """The lines of the next frame (up to its blank line); ``[]`` at the end of the body."""
        lines: list[str] = []
        while True:
            raw = self.response.readline()
            if not raw:
                return lines
            line = raw.decode("utf-8").rstrip("\n")
            if line == "":
                if lines:
                    return lines
                continue
            lines.append(line)

    def event(self) -> tuple[str, Any]:
        """The next non-comment frame: ``("next", payload)`` or ``("complete", None)``; ``("", None)`` at EOF."""
        while True:
            lines = self.frame()
            if not lines:
                return "", None
            if all(line.startswith(":") for line in lines):
                continue
            name = lines[0].removeprefix("event: ")
            data = [line.removeprefix("data: ") for line in lines[1:] if line.startswith("data: ")]
            return name, (json.loads(data[0]) if data else None)

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------- WebSocket client


class WSClient:
    """A real WebSocket client (simple-websocket) speaking JSON messages."""

    def __init__(
        self,
        operator: Any,
        protocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        from simple_websocket import Client

        self.ws = Client.connect(
            operator.url(scheme="ws"),
            subprotocols=["graphql-transport-ws"] if protocols is None else protocols,
            headers=headers,
        )

    @property
    def subprotocol(self) -> str | None:
        return self.ws.subprotocol

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def receive(self, timeout: float = 15.0) -> dict[str, Any]:
        raw = self.ws.receive(timeout=timeout)
        assert raw is not None, "no message in time"
        return json.loads(raw)

    def wait_closed(self, timeout: float = 15.0) -> tuple[int, str]:
        """Read until the server closes; ``(close code, reason)``."""
        from simple_websocket import ConnectionClosed

        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.ws.receive(timeout=0.2)
        except ConnectionClosed as closed:
            return closed.reason, closed.message
        raise AssertionError("the server did not close the socket")

    def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send({"type": "connection_init", "payload": payload or {}})
        return self.receive()

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


# --------------------------------------------------------------------------- a topology source of our own


class TopologyFile:
    """A JSON file the hub's topology stream polls (so tests control when the topology changes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.polls = 0
        self.set(dirty=0)

    def set(self, dirty: int) -> None:
        summary = dict.fromkeys(
            (
                "sources",
                "workspaces",
                "worktrees",
                "clean",
                "dirty",
                "ahead",
                "behind",
                "diverged",
                "branch_mismatch",
                "missing",
                "error",
                "unpushed",
            ),
            0,
        )
        summary["dirty"] = dirty
        topology = {
            "root": "/stack",
            "name": "demo",
            "sources": [],
            "workspaces": [],
            "links": [],
            "summary": summary,
        }
        self.path.write_text(json.dumps(topology))

    def poll(self) -> dict[str, Any]:
        self.polls += 1
        return json.loads(self.path.read_text())


def use_topology_file(operator: ServedOperator, path: Path, tick: float = 0.05) -> TopologyFile:
    """Make the operator's topology stream poll ``path`` every ``tick`` seconds."""
    source = TopologyFile(path)
    operator.hub.tick = tick
    operator.hub.stream("topology").poll = source.poll
    return source
