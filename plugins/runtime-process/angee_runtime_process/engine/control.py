"""Drive the supervisord of one stack root: start it detached, talk XML-RPC on its unix socket, stop it.

The client is the stdlib ``xmlrpc.client`` over an AF_UNIX HTTP connection with a timeout (supervisor's
own ``SupervisorTransport`` has none, and a hung engine must not hang ``angee status``).
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterator

from angee.errors import RuntimeFailure

from .paths import EnginePaths, pid_alive, read_pid, read_text

# supervisor.xmlrpc.Faults (kept here so reading a fault needs no supervisor import)
BAD_NAME = 10
ABNORMAL_TERMINATION = 40
SPAWN_ERROR = 50
ALREADY_STARTED = 60
NOT_RUNNING = 70
SHUTDOWN_STATE = 6
ALREADY_ADDED = 90
Fault = xmlrpc.client.Fault
RPC_ERRORS = (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError, xmlrpc.client.ResponseError)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__()
        self._path = path
        self._timeout = timeout

    def make_connection(self, host: object) -> http.client.HTTPConnection:  # type: ignore[override]
        if self._connection[1] is None:
            self._connection = (host, _UnixConnection(self._path, self._timeout))
        return self._connection[1]


def rpc(paths: EnginePaths, timeout: float = 30.0) -> xmlrpc.client.ServerProxy:
    """An XML-RPC proxy on the engine's socket; calls raise ``RPC_ERRORS`` or ``xmlrpc.client.Fault``."""
    return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=_UnixTransport(paths.socket, timeout))


def engine_state(paths: EnginePaths, timeout: float = 5.0) -> str:
    """supervisord's state name (``RUNNING``, ``SHUTDOWN``, ...) or ``""`` when it does not answer."""
    if not os.path.exists(paths.socket):
        return ""
    try:
        return str(rpc(paths, timeout).supervisor.getState().get("statename", ""))
    except (*RPC_ERRORS, xmlrpc.client.Fault):
        return ""


def engine_running(paths: EnginePaths) -> bool:
    """Whether the engine of this root answers and is not shutting down."""
    return engine_state(paths) == "RUNNING"


@contextlib.contextmanager
def engine_lock(paths: EnginePaths, timeout: float = 300.0) -> Iterator[None]:
    """Serialise engine start/reconfigure/stop for one root across processes (``flock``, polled)."""
    paths.make_dirs()
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeFailure(f"{paths.lock}: the local engine is busy (lock held)") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)


def _clear_dir(directory: str) -> None:
    for entry in os.listdir(directory):
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, entry))


def _log_tail(path: str, lines: int = 5) -> str:
    return " | ".join(line.strip() for line in read_text(path).splitlines()[-lines:] if line.strip())


def start_engine(paths: EnginePaths, conf_text: str, env: dict[str, str], timeout: float = 30.0) -> None:
    """Start a fresh detached supervisord for the root (old logs and markers cleared) and await it."""
    from .paths import write_text

    paths.make_dirs()
    _clear_dir(paths.logs)
    _clear_dir(paths.state)
    write_text(paths.conf, conf_text)
    argv = [sys.executable, "-m", "supervisor.supervisord", "-c", paths.conf]
    try:
        proc = subprocess.run(
            argv,
            cwd=paths.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeFailure(f"start the local engine: {exc}") from exc
    if proc.returncode != 0:
        raise RuntimeFailure(
            f"{' '.join(argv)}: exit status {proc.returncode}: {proc.stdout.strip()}", output=proc.stdout
        )
    deadline = time.monotonic() + timeout
    while engine_state(paths, timeout=2.0) != "RUNNING":
        pid = read_pid(paths.pidfile)
        if (pid and not pid_alive(pid)) or time.monotonic() > deadline:
            raise RuntimeFailure(f"the local engine did not start: {_log_tail(paths.logfile) or 'no log'}")
        time.sleep(0.02)


def reconfigure(paths: EnginePaths, conf_text: str) -> None:
    """Apply a changed configuration to a running engine (programs added, changed or removed)."""
    from .paths import write_text

    if read_text(paths.conf) == conf_text:
        return
    write_text(paths.conf, conf_text)
    proxy = rpc(paths, 120.0)
    try:
        added, changed, removed = proxy.supervisor.reloadConfig()[0]
        for group in [*removed, *changed]:
            with contextlib.suppress(xmlrpc.client.Fault):
                proxy.supervisor.stopProcessGroup(group, True)
            proxy.supervisor.removeProcessGroup(group)
        for group in [*changed, *added]:
            with contextlib.suppress(xmlrpc.client.Fault):
                proxy.supervisor.addProcessGroup(group)
    except (*RPC_ERRORS, xmlrpc.client.Fault) as exc:
        raise RuntimeFailure(f"reconfigure the local engine: {exc}") from exc


def _is_supervisord(pid: int) -> bool:
    return b"supervisord" in (read_bytes(f"/proc/{pid}/cmdline") or b"supervisord")


def read_bytes(path: str) -> bytes:
    """The file's bytes, or ``b""``."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _await_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def stop_engine(paths: EnginePaths, grace: float = 60.0) -> bool:
    """Stop every process and supervisord itself, then make sure none of them is left; ``False`` if none ran.

    supervisord's own shutdown stops the processes (each process group: stop signal, then SIGKILL after
    its ``stopwaitsecs``); ``grace`` bounds the wait for that before the daemon is killed.
    """
    daemon = read_pid(paths.pidfile)
    children: list[int] = []
    answered = False
    if os.path.exists(paths.socket):
        proxy = rpc(paths, 10.0)
        try:
            children = [int(info["pid"]) for info in proxy.supervisor.getAllProcessInfo() if info.get("pid")]
            answered = True
            with contextlib.suppress(xmlrpc.client.Fault):
                proxy.supervisor.shutdown()
        except RPC_ERRORS:
            pass
    running = daemon > 0 and pid_alive(daemon) and _is_supervisord(daemon)
    if not answered and not running:
        return False
    if running and not _await_gone([daemon], grace):
        with contextlib.suppress(OSError):
            os.kill(daemon, signal.SIGKILL)
        _await_gone([daemon], 5.0)
    for pid in children:  # each child leads its own process group; make sure nothing of it is left
        if pid_alive(pid):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
    _await_gone(children, 5.0)
    if not pid_alive(daemon):  # supervisord removes both on a clean exit; not after a kill
        for leftover in (paths.pidfile, paths.socket):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
    return True
