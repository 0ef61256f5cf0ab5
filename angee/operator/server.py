"""Serving the operator (operator-and-cli §5.2, §5.3) on gunicorn's threaded worker.

gunicorn's ``gthread`` worker, embedded through ``BaseApplication``: one worker process (the event hub
and subscriptions live in it) with a thread per in-flight request, chunked responses written to the
socket as they are produced (SSE, log streams), and the raw socket exposed to the app
(``gunicorn.socket``) so WebSocket upgrades work (flask-sock / simple-websocket).

Signals: SIGTERM → graceful shutdown; SIGINT → graceful shutdown, then stack teardown with its own
60 s deadline. Graceful = stop accepting, run the operator's stop hooks (event hub, open streams end),
wait at most 5 s for in-flight requests. The master owns the listening socket, which we bind ourselves
so a listen failure is reported at once (exit 1) rather than after gunicorn's retries.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker

GRACEFUL_SECONDS = 5
TEARDOWN_SECONDS = 60
DEFAULT_THREADS = 64
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000


class ServeError(Exception):
    """The operator cannot start (bad bind, listen failure); the message is the user-facing line."""


def is_loopback(host: str) -> bool:
    """A loopback bind: ``localhost`` or an address that parses as loopback (127.0.0.0/8, ::1)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def format_address(host: str, port: int) -> str:
    """``host:port`` with IPv6 bracketed."""
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_bind(host: str, token: str | None) -> None:
    """Non-loopback binds need an admin bearer (§5.2 step 1)."""
    if not is_loopback(host) and not token:
        raise ServeError("non-loopback operator binds require --token")


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """Bind and listen on ``host:port`` (``ServeError`` with the reason when that fails)."""
    try:
        infos = socket.getaddrinfo(
            host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ServeError(f"listen tcp {format_address(host, port)}: {exc.strerror or exc}") from None
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    reason = (last.strerror if last else None) or str(last)
    raise ServeError(f"listen tcp {format_address(host, port)}: {reason}")


def _context(app: Any) -> Any:
    extensions = getattr(app, "extensions", None) or {}
    return extensions.get("angee")


class OperatorWorker(ThreadWorker):
    """The gthread worker with the operator's lifecycle: start hooks once serving, stop hooks on the
    first SIGTERM/SIGINT (graceful in both cases; SIGQUIT stays immediate)."""

    def init_signals(self) -> None:
        super().init_signals()
        signal.signal(signal.SIGINT, self.handle_exit)
        signal.siginterrupt(signal.SIGINT, False)

    def handle_exit(self, sig: int, frame: Any) -> None:
        first = self.alive
        super().handle_exit(sig, frame)
        ctx = _context(self.wsgi)
        if first and ctx is not None:
            # Hooks may block (closing sockets, joining pollers): never run them in the signal handler.
            threading.Thread(target=ctx.stop, name="angee-operator-stop", daemon=True).start()


def _post_worker_init(worker: Any) -> None:
    ctx = _context(worker.wsgi)
    if ctx is not None:
        ctx.start()


class OperatorArbiter(Arbiter):
    """The master: SIGINT shuts down gracefully (not gunicorn's quick stop) and asks for the teardown."""

    teardown_requested = False

    def handle_int(self) -> None:
        self.teardown_requested = True
        raise StopIteration


class OperatorServer(BaseApplication):
    """gunicorn embedded: one ``gthread`` worker serving the prebuilt Flask app."""

    def __init__(
        self,
        app: Any,
        listener: socket.socket,
        *,
        address: str,
        threads: int,
        teardown: Callable[[], Any] | None,
        out: Any,
    ) -> None:
        self.application = app
        self.listener = listener
        self.address = address
        self.threads = threads
        self.teardown = teardown
        self.out = out
        self.master_pid = os.getpid()
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": [self.address],
            "workers": 1,
            "worker_class": f"{OperatorWorker.__module__}.{OperatorWorker.__name__}",
            "threads": self.threads,
            "worker_connections": max(1000, self.threads * 4),
            "keepalive": 5,
            "graceful_timeout": GRACEFUL_SECONDS,
            "timeout": 30,
            "preload_app": True,
            "control_socket_disable": True,
            "loglevel": "warning",
            "accesslog": None,
            "errorlog": "-",
            "proc_name": "angee-operator",
            "when_ready": self._when_ready,
            "post_worker_init": _post_worker_init,
            "on_exit": self._on_exit,
        }
        for key, value in options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application

    def _when_ready(self, arbiter: Any) -> None:
        print(f"operator listening on http://{self.address}", file=self.out, flush=True)

    def _on_exit(self, arbiter: Any) -> None:
        if getattr(arbiter, "teardown_requested", False):
            run_teardown(self.teardown)

    def run(self) -> None:
        from gunicorn.sock import create_sockets

        arbiter = OperatorArbiter(self)
        arbiter.LISTENERS = create_sockets(self.cfg, arbiter.log, fds=[self.listener.detach()])
        arbiter.run()


def run_teardown(teardown: Callable[[], Any] | None) -> None:
    """The SIGINT stack teardown: logged, bounded by 60 s, never changing the exit status."""
    print("operator: tearing down stack on SIGINT", file=sys.stderr, flush=True)
    if teardown is None:
        return
    failure: list[BaseException] = []

    def run() -> None:
        try:
            teardown()
        except BaseException as exc:  # noqa: BLE001 - reported, never raised
            failure.append(exc)

    worker = threading.Thread(target=run, name="angee-operator-teardown", daemon=True)
    worker.start()
    worker.join(TEARDOWN_SECONDS)
    if worker.is_alive():
        print(
            f"operator: stack teardown did not finish within {TEARDOWN_SECONDS}s", file=sys.stderr, flush=True
        )
    elif failure:
        print(f"operator: {failure[0]}", file=sys.stderr, flush=True)


def serve(
    app: Any,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    teardown: Callable[[], Any] | None = None,
    threads: int = DEFAULT_THREADS,
    out: Any = None,
) -> int:
    """Serve ``app`` until SIGTERM/SIGINT; returns the exit status (0 after a clean shutdown).

    ``teardown`` runs after a SIGINT shutdown (the stack down). Raises :class:`ServeError` when the
    address cannot be bound. Call from the main thread (signal handlers); the worker is a forked child.
    """
    host = host or DEFAULT_HOST
    port = port or DEFAULT_PORT
    listener = listen(host, port)
    bound_port = listener.getsockname()[1]
    server = OperatorServer(
        app,
        listener,
        address=format_address(host, bound_port),
        threads=threads,
        teardown=teardown,
        out=out if out is not None else sys.stdout,
    )
    try:
        server.run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if os.getpid() != server.master_pid:  # the forked worker must never run the caller's code
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code
    return 0
