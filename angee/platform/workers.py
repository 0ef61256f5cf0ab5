"""Runtime operations run in worker processes, so each can be interrupted like a Ctrl-C.

``angee dev`` runs compose attached and the local engine in the foreground at once; the first to exit
interrupts the other and Ctrl-C stops both (spec manifest-and-runtime §5.9). The Runtime contract has
no cancel call, so each backend runs in a child Python process that leads a session of its own:
interrupting it is ``SIGINT`` to that process group, exactly what a terminal's Ctrl-C does to a
foreground tool: the backend stops its tool (SIGINT, 10 s grace, kill) and its services. A worker still
alive :data:`GRACE_SECONDS` later is killed. Interleaved log follows of two backends use the same workers
and are killed on close. SIGINT is handled explicitly on both sides, so a stack started from a shell that
ignores SIGINT (a background job) still stops on it, like a Go program that asks for the signal.

Worker protocol: argv ``[python, -c, <entry>, <json spec>]``; the worker writes output lines to stdout
and a failure as one last line starting with :data:`ERROR_MARK`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from angee.errors import RuntimeFailure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.contracts import Runtime, RuntimeStack

# A safety net above the backends' own 10 s grace: their shutdown (compose stopping containers, the
# local engine its processes) gets to finish before the worker group is killed.
GRACE_SECONDS = 30.0
FOLLOW_GRACE_SECONDS = 10.0  # a log follower closes its own follower process (compose: 5 s grace)
ERROR_MARK = "\x1eangee-worker-error:"
_ENTRY = "from angee.platform.workers import worker_main; worker_main()"
_POLL = 0.2


class Worker:
    """One backend operation (``up`` attached or ``logs`` followed) in a child process of its own session."""

    def __init__(
        self,
        label: str,
        stack: RuntimeStack,
        backend: Runtime,
        op: str,
        services: list[str],
        lines: queue.Queue[tuple[Worker, str | None]],
        tail: int = 0,
    ) -> None:
        spec = {
            "op": op,
            "backend": backend.name,
            "factory": f"{type(backend).__module__}:{type(backend).__qualname__}",
            "stack": dataclasses.asdict(stack),
            "services": services,
            "tail": tail,
        }
        self.label = label
        self.error = ""
        self.exited_at: float | None = None
        self.eof = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ENTRY, json.dumps(spec)],
            cwd=stack.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._lines = lines
        threading.Thread(target=self._read, name=f"angee-worker-{label}", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            for raw in self.process.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line.startswith(ERROR_MARK):
                    self.error = line[len(ERROR_MARK) :]
                else:
                    self._lines.put((self, line))
        except (OSError, ValueError):
            pass
        finally:
            self.eof.set()
            self._lines.put((self, None))

    @property
    def done(self) -> bool:
        """Its output ended and the worker itself exited."""
        return self.eof.is_set() and self.process.poll() is not None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the worker's whole process group (the worker and the tool it runs)."""
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def reap(self) -> None:
        """Note when the worker exited; a group still holding its output ``GRACE_SECONDS`` later is killed."""
        if self.process.poll() is not None and self.exited_at is None:
            self.exited_at = time.monotonic()
        if (
            self.exited_at is not None
            and not self.eof.is_set()
            and time.monotonic() - self.exited_at > GRACE_SECONDS
        ):
            self.signal(signal.SIGKILL)
            self.eof.set()


def _stop_all(workers: list[Worker], first: int = signal.SIGINT, grace: float = GRACE_SECONDS) -> None:
    """Send ``first`` to every live worker, wait up to ``grace`` seconds, then kill what is left."""
    live = [w for w in workers if not w.done]
    for worker in live:
        worker.signal(first)
    deadline = time.monotonic() + grace
    for worker in live:
        try:
            worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        worker.signal(signal.SIGKILL)
        worker.process.wait()
        worker.eof.wait(2.0)


class InterruptSignals:
    """While active (main thread only), SIGINT (even if inherited as ignored) and SIGTERM raise
    KeyboardInterrupt, so a foreground run or stream is stopped, never orphaned."""

    def __enter__(self) -> InterruptSignals:
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def run_foreground(
    stack: RuntimeStack, targets: list[tuple[str, Runtime, list[str]]], output: Callable[[str], None] | None
) -> None:
    """Run every backend's attached ``up`` at once, streaming output, until one exits or Ctrl-C.

    The first to exit interrupts the others (SIGINT, grace, kill). A backend failing on its own (not
    interrupted) raises ``RuntimeFailure`` once everything has stopped; interruption is success.
    """
    lines: queue.Queue[tuple[Worker, str | None]] = queue.Queue()
    workers: list[Worker] = []
    failure = ""
    deadline: float | None = None
    with InterruptSignals():
        try:
            for label, backend, services in targets:
                workers.append(Worker(label, stack, backend, "up", services, lines))
            while not all(w.done for w in workers):
                try:
                    try:
                        worker, line = lines.get(timeout=_POLL)
                    except queue.Empty:
                        worker, line = None, None
                    if worker is not None and line is not None:
                        if output is not None:
                            output(line)
                        continue
                    for w in workers:
                        w.reap()
                    finished = [w for w in workers if w.done]
                    if finished and deadline is None:  # the first to exit interrupts the others
                        first = finished[0]
                        code = first.process.returncode
                        if code not in (0, 130, -signal.SIGINT):
                            failure = first.error or f"{first.label} runtime exited with status {code}"
                        elif first.error:
                            failure = first.error
                        deadline = _interrupt(workers)
                    elif deadline is not None and time.monotonic() > deadline:
                        for w in workers:
                            if not w.done:
                                w.signal(signal.SIGKILL)
                except KeyboardInterrupt:
                    if deadline is not None:  # second Ctrl-C: stop waiting
                        for w in workers:
                            w.signal(signal.SIGKILL)
                    deadline = _interrupt(workers)
        finally:
            _stop_all(workers)
    while not lines.empty() and output is not None:  # output that raced the last exit
        _, line = lines.get_nowait()
        if line is not None:
            output(line)
    if failure:
        raise RuntimeFailure(failure)


def _interrupt(workers: list[Worker]) -> float:
    for worker in workers:
        if not worker.done:
            worker.signal(signal.SIGINT)
    return time.monotonic() + GRACE_SECONDS


class FollowedLogs(Iterator[str]):
    """The logs of several backends followed at once, lines interleaved as they come (each ending in
    ``\\n``). ``close()`` or ``cancel()`` (thread-safe, for a reader on another thread) stop the
    followers; a follower that fails on its own stops the others and raises its error."""

    def __init__(self, stack: RuntimeStack, targets: list[tuple[str, Runtime, list[str]]], tail: int) -> None:
        self._lines: queue.Queue[tuple[Worker, str | None]] = queue.Queue()
        self._workers: list[Worker] = []
        self._closed = False
        try:
            for label, backend, services in targets:
                self._workers.append(Worker(label, stack, backend, "logs", services, self._lines, tail=tail))
        except BaseException:
            self.close()
            raise
        self._open = len(self._workers)

    def __iter__(self) -> FollowedLogs:
        return self

    def __next__(self) -> str:
        while self._open and not self._closed:
            worker, line = self._lines.get()
            if line is not None:
                return line + "\n"
            self._open -= 1
            worker.process.wait()
            if worker.error and not self._closed:
                self.close()
                raise RuntimeFailure(worker.error)
        self.close()
        raise StopIteration

    def cancel(self) -> None:
        """Stop following from any thread: the followers are told to stop, then killed."""
        self._closed = True
        threading.Thread(target=self.close, daemon=True).start()

    def close(self) -> None:
        """Stop every follower (SIGTERM: each closes its backend's follower process; then SIGKILL)."""
        self._closed = True
        _stop_all(self._workers, signal.SIGTERM, FOLLOW_GRACE_SECONDS)


# --------------------------------------------------------------------------- the worker process


def _load_backend(spec: dict[str, Any]) -> Runtime:
    """The backend by name from the plugin registry, else by importing its class (test doubles)."""
    import importlib

    from angee.plugins import registry

    found = registry().providers("runtimes").get(spec["backend"])
    if found is not None:
        return found
    module, _, qualname = spec["factory"].partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target()


def _watch_parent(parent: int) -> None:
    """The parent died (``angee`` was killed): interrupt this worker's group as its Ctrl-C would have."""
    while os.getppid() == parent:
        time.sleep(0.5)
    try:
        os.killpg(os.getpgrp(), signal.SIGINT)
    except OSError:
        pass


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def worker_main() -> None:
    """Entry point of a worker process (see the module docstring)."""
    from angee.contracts import RuntimeStack
    from angee.errors import AngeeError

    spec = json.loads(sys.argv[1])
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when inherited as ignored
    signal.signal(signal.SIGTERM, _terminate)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()

    def out(line: str) -> None:
        sys.stdout.write(line.rstrip("\r\n") + "\n")
        sys.stdout.flush()

    try:
        backend = _load_backend(spec)
        stack = RuntimeStack(**spec["stack"])
        if spec["op"] == "up":
            backend.up(stack, spec["services"], build=False, detach=False, output=out)
        else:
            iterator = backend.logs(stack, spec["services"], follow=True, tail=spec["tail"])
            try:
                for line in iterator:
                    out(line)
            finally:  # stop the backend's follower process too, not just this worker
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except AngeeError as exc:
        out(ERROR_MARK + exc.message)
        sys.exit(1)
    except Exception as exc:  # report, never a traceback
        out(f"{ERROR_MARK}{type(exc).__name__}: {exc}")
        sys.exit(1)
