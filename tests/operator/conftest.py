"""Fixtures for the operator tests: stack roots and the REAL operator server in a subprocess.

``operator_server(root, "--token", "T")`` starts ``angee operator`` (gunicorn, one worker) on 127.0.0.1
with a free port, waits for its ``operator listening on`` line and a live ``/healthz``, and stops it
(SIGTERM) at teardown. Output is collected line by line so tests can await stderr lines.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0

MANIFEST = """\
version: 1
kind: stack
name: demo
secrets:
  api_key:
    required: true
  db-password: {}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (tests await conditions, never sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Lines:
    """Lines read from a pipe on a thread; ``wait(text)`` awaits a line containing ``text``."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self.closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in iter(stream.readline, ""):
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def wait(self, text: str, timeout: float = STARTUP_SECONDS) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed:
                    raise AssertionError(f"no line containing {text!r}; got {self.lines!r}")
                self._cond.wait(remaining)

    def join(self, timeout: float = 10.0) -> None:
        self._thread.join(timeout)

    @property
    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


class OperatorProcess:
    """A running operator subprocess and a tiny HTTP client for it."""

    def __init__(self, proc: subprocess.Popen[str], host: str, port: int) -> None:
        self.proc = proc
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self.stdout = Lines(proc.stdout)
        self.stderr = Lines(proc.stderr)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            hdrs = dict(headers or {})
            if token:
                hdrs["Authorization"] = f"Bearer {token}"
            data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, _, data = self.request(method, path, body, **kw)
        return status, json.loads(data) if data else None

    def wait_ready(self) -> None:
        try:
            self.stdout.wait("operator listening on")
        except AssertionError:
            self.stderr.join(5)
            raise AssertionError(f"operator did not start: {self.stderr.text}") from None

        def healthy() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"operator exited early: {self.stderr.text}")
            try:
                return self.request("GET", "/healthz")[0] == 200
            except OSError:
                return False

        wait_for(healthy, STARTUP_SECONDS, "the operator to answer /healthz")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.stdout.join()
        self.stderr.join()
        return code


def spawn(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_OPERATOR")}
    full_env["PYTHONUNBUFFERED"] = "1"
    full_env.update(env or {})
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def make_stack(root: Path, manifest: str = MANIFEST) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "angee.yaml").write_text(manifest)
    return root


@pytest.fixture
def stack_root(tmp_path: Path) -> Path:
    """A stack root with an angee.yaml declaring two secrets."""
    return make_stack(tmp_path / "stack")


@pytest.fixture
def operator_server() -> Iterator[Callable[..., OperatorProcess]]:
    """Start ``angee operator --root ROOT --port <free> ARGS...``; stopped (SIGTERM) at teardown."""
    started: list[OperatorProcess] = []

    def start(
        root: Path, *args: str, env: dict[str, str] | None = None, ready: bool = True
    ) -> OperatorProcess:
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "angee.cli.operator_cmd",
            "--root",
            str(root),
            "--port",
            str(port),
            *args,
        ]
        proc = spawn(argv, root, env)
        server = OperatorProcess(proc, "127.0.0.1", port)
        started.append(server)
        if ready:
            server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


# A served app whose Platform is a scripted fake: streams gated by files so tests can prove that
# each chunk reaches the client on its own, and that a disconnect closes the upstream.
FAKE_SERVER = textwrap.dedent(
    """
    import os, sys, threading, time
    from angee.operator.app import create_app
    from angee.operator.server import serve
    from angee.platform import Platform

    GATES = sys.argv[3]

    class IdleFollow:
        # A follow stream that goes quiet after one line; cancel() (thread-safe) ends it.

        def __init__(self):
            self.cancelled = threading.Event()
            self.sent = False

        def __iter__(self):
            return self

        def __next__(self):
            if not self.sent:
                self.sent = True
                return "hello\\n"
            self.cancelled.wait()
            open(os.path.join(GATES, "cancelled"), "w").close()
            raise StopIteration

        def cancel(self):
            self.cancelled.set()

    class ScriptedPlatform(Platform):
        def service_logs(self, name, follow=False, tail=0):
            return IdleFollow()

        def stack_logs(self, services=None, follow=False, tail=0):
            def lines():
                try:
                    yield "first line\\n"
                    while not os.path.exists(os.path.join(GATES, "go")):
                        time.sleep(0.01)
                    yield "second line\\n"
                    if follow:
                        while True:
                            time.sleep(0.05)
                            yield "tick\\n"
                finally:
                    open(os.path.join(GATES, "closed"), "w").close()
            return lines()

        def stack_up(self, services=None, build=False, output=None):
            if services == ["missing"]:
                from angee.errors import NotFound
                raise NotFound("service", "missing")
            output("pulling images")
            output("starting web")
            from angee.errors import RuntimeFailure
            raise RuntimeFailure("web failed to start")

    app = create_app(sys.argv[1], platform_factory=ScriptedPlatform)

    from flask_sock import Sock
    from angee.operator.auth import auth_exempt
    sock = Sock(app)

    @sock.route("/test/echo")
    def echo(ws):
        while True:
            message = ws.receive()
            if message is None or message == "bye":
                break
            ws.send("echo:" + message)

    app.view_functions["echo"] = auth_exempt()(app.view_functions["echo"])
    sys.exit(serve(app, host="127.0.0.1", port=int(sys.argv[2])))
    """
)


@pytest.fixture
def scripted_server(tmp_path: Path) -> Iterator[tuple[OperatorProcess, Path]]:
    """The real server (open mode) over a scripted Platform; yields it and the gate directory."""
    root = make_stack(tmp_path / "stack")
    gates = tmp_path / "gates"
    gates.mkdir()
    script = tmp_path / "serve_scripted.py"
    script.write_text(FAKE_SERVER)
    port = free_port()
    proc = spawn([sys.executable, str(script), str(root), str(port), str(gates)], root)
    server = OperatorProcess(proc, "127.0.0.1", port)
    try:
        server.wait_ready()
        yield server, gates
    finally:
        server.stop()
