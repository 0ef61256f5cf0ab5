"""One service's log follow in a child process of its own session, so a log socket can always stop it.

A backend's follow iterator may block inside the backend (reading a pipe, polling a log file) and may
have no thread-safe ``cancel()``; a thread cannot be killed, a process can. :class:`LogFollower` runs
``Platform(root).service_logs(name, follow=True, tail=N)`` in a child Python process and reads its
framed stdout: ``!ready`` once the upstream is open, ``.<line>`` per log line, ``!error <json>`` on a
failure (``{"status": <http>, "body": <ErrorResponse>}``). :meth:`LogFollower.close` sends SIGTERM to
the child's process group (the child closes the backend iterator, which stops e.g. ``docker compose
logs``), then SIGKILL after a grace period.

The child runs this very file through ``runpy.run_path`` (not as ``angee.operator.rest.logfollow``), so
it starts without importing Flask: keep this module free of package-level imports beyond the stdlib.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any

READY = b"!ready"
ERROR = b"!error "
LINE = b"."
ARGV_MARK = "--angee-log-follow"
OPEN_SECONDS = 60.0
CLOSE_GRACE_SECONDS = 5.0
QUEUE_SIZE = 1024
_ENTRY = "import runpy, sys; sys.exit(runpy.run_path(sys.argv[1])['follower_main'](sys.argv[2]))"

END = object()
TIMEOUT = object()


class FollowFailure:
    """The upstream failed: ``status`` and ErrorResponse ``body`` as the operator would answer them."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body

    @property
    def message(self) -> str:
        return str(self.body.get("error") or "log stream failed")


class LogFollower:
    """A live ``service_logs(name, follow=True, tail=tail)`` in a child process (see the module doc)."""

    def __init__(self, root: str, service: str, tail: int = 0) -> None:
        spec = json.dumps({"root": root, "service": service, "tail": tail})
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-c", _ENTRY, os.path.abspath(__file__), spec, ARGV_MARK],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._queue: queue.Queue[Any] = queue.Queue(QUEUE_SIZE)
        self._closed = threading.Event()
        self._opened = False
        self._reader = threading.Thread(target=self._read, name=f"angee-log-follow-{service}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    # ------------------------------------------------------------------ reading

    def _put(self, item: Any) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.25)
                return
            except queue.Full:
                continue

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            for raw in stdout:
                frame = raw.rstrip(b"\n")
                if frame.startswith(LINE):
                    self._put(frame[1:].decode("utf-8", errors="replace"))
                elif frame == READY:
                    self._put(READY)
                elif frame.startswith(ERROR):
                    self._put(_failure(frame[len(ERROR) :]))
        except (OSError, ValueError):
            pass
        finally:
            self._put(END)

    def open(self, timeout: float = OPEN_SECONDS) -> FollowFailure | None:
        """Wait until the child opened the upstream: ``None`` when it did, else the failure to answer."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                return FollowFailure(500, {"error": f"log stream did not open within {timeout:.0f}s"})
            try:
                item = self._queue.get(timeout=min(left, 0.25))
            except queue.Empty:
                continue
            if item is READY:
                self._opened = True
                return None
            self.close()
            if isinstance(item, FollowFailure):
                return item
            code = self.process.poll()
            return FollowFailure(
                500, {"error": f"log follower exited before the stream opened (status {code})"}
            )

    def get(self, timeout: float) -> Any:
        """The next log line (no line break), :data:`END`, :data:`TIMEOUT` or a :class:`FollowFailure`."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return TIMEOUT

    # ------------------------------------------------------------------ stopping

    def close(self) -> None:
        """Stop the follow: SIGTERM to the child's group, SIGKILL after the grace period; idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(CLOSE_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        _signal_group(self.process.pid, signal.SIGKILL)  # anything the child left in its group
        self._reader.join(CLOSE_GRACE_SECONDS)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _failure(payload: bytes) -> FollowFailure:
    try:
        data = json.loads(payload)
        return FollowFailure(int(data["status"]), dict(data["body"]))
    except (ValueError, KeyError, TypeError):
        return FollowFailure(500, {"error": payload.decode("utf-8", errors="replace")})


# --------------------------------------------------------------------------- the child process


def _emit(frame: bytes) -> None:
    out = sys.stdout.buffer
    out.write(frame + b"\n")
    out.flush()


def _emit_error(exc: BaseException) -> None:
    from angee.errors import AngeeError

    if isinstance(exc, AngeeError):
        status, body = exc.http_status, exc.to_wire()
    else:
        status, body = 500, {"error": f"{type(exc).__name__}: {exc}"}
    _emit(ERROR + json.dumps({"status": status, "body": body}, ensure_ascii=False).encode("utf-8"))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _watch_parent(parent: int) -> None:
    """The operator died: stop following as if it had closed the socket."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def _stop(lines: Any) -> None:
    """Close the backend iterator (its ``cancel()`` or ``close()``) so its own follower process ends."""
    for name in ("cancel", "close"):
        method = getattr(lines, name, None)
        if callable(method):
            try:
                method()
            except Exception:
                pass
            return


def follower_main(spec_json: str) -> int:
    """Entry point of the child process (see the module docstring)."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    spec = json.loads(spec_json)
    lines: Any = None
    try:
        from angee.platform import Platform

        lines = Platform(spec["root"]).service_logs(spec["service"], follow=True, tail=int(spec["tail"]))
        _emit(READY)
        for line in lines:
            _emit(LINE + line.rstrip("\r\n").encode("utf-8", errors="replace"))
        return 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except BaseException as exc:  # noqa: BLE001 - reported to the operator, never a traceback
        try:
            _emit_error(exc)
        except OSError:
            pass
        return 1
    finally:
        if lines is not None:
            _stop(lines)
