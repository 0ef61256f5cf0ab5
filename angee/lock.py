"""The stack root lock ``<root>/run/operator.lock`` (spec manifest-and-runtime §1.4, templates §10).

An exclusive ``flock`` serialises every manifest read-modify-write across processes. ``flock`` is not
re-entrant across descriptors, so a process-wide wrapper keeps one holder thread per root with an owner
count: nested calls in the holder thread pass straight through, other threads of the process wait on
a condition, and the file lock is taken once per holder.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from angee.errors import RuntimeFailure

LOCK_FILE = os.path.join("run", "operator.lock")
POLL_INTERVAL = 0.01  # seconds between non-blocking flock attempts


class LockUnavailable(RuntimeFailure):
    """The root lock was not acquired because the caller's timeout ran out or it cancelled the wait."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"stack lock {path} not acquired: {reason}")
        self.path = path
        self.reason = reason


def lock_path(root: str) -> str:
    """Absolute path of the lock file of a stack root."""
    return os.path.join(os.path.abspath(root), LOCK_FILE)


class _Waiter:
    """Deadline and cancel bookkeeping shared by the in-process and the file-lock wait."""

    def __init__(self, path: str, timeout: float | None, cancel: threading.Event | None) -> None:
        self.path = path
        self.deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        self.cancel = cancel

    def check(self) -> None:
        """Raise :class:`LockUnavailable` when the caller cancelled or the deadline passed."""
        if self.cancel is not None and self.cancel.is_set():
            raise LockUnavailable(self.path, "cancelled")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise LockUnavailable(self.path, "timed out")

    def slice(self) -> float:
        """How long to wait before the next attempt: the poll interval, capped by the deadline."""
        if self.deadline is None:
            return POLL_INTERVAL
        return max(0.0, min(POLL_INTERVAL, self.deadline - time.monotonic()))

    def pause(self) -> None:
        if self.cancel is not None:
            self.cancel.wait(self.slice())
        else:
            time.sleep(self.slice())


class _RootLock:
    """Process-wide state of one lock file: holder thread, nesting count and the open descriptor."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.cond = threading.Condition(threading.Lock())
        self.owner: int | None = None
        self.count = 0
        self.fd: int | None = None

    def acquire(self, waiter: _Waiter) -> None:
        me = threading.get_ident()
        with self.cond:
            if self.owner == me:
                self.count += 1
                return
            while self.owner is not None:
                waiter.check()
                self.cond.wait(waiter.slice())
            self.owner = me
            self.count = 1
        try:
            self.fd = _lock_file(self.path, waiter)
        except BaseException:
            with self.cond:
                self.owner = None
                self.count = 0
                self.cond.notify()
            raise

    def release(self) -> None:
        with self.cond:
            if self.owner != threading.get_ident():
                raise RuntimeError(f"stack lock {self.path} released by a thread that does not hold it")
            self.count -= 1
            if self.count:
                return
            fd, self.fd = self.fd, None
            try:
                if fd is not None:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_UN)
                    finally:
                        os.close(fd)
            finally:
                self.owner = None
                self.cond.notify()

    def held_by_current_thread(self) -> bool:
        with self.cond:
            return self.owner == threading.get_ident()


def _lock_file(path: str, waiter: _Waiter) -> int:
    """Open the lock file (0600) and take an exclusive flock, polling every 10 ms; return the fd.

    If the file is unlinked or replaced while we wait (``stack destroy --purge`` removes ``run/``), the
    lock we got is on a dead inode, so we reopen and try again.
    """
    while True:
        try:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as err:
            raise RuntimeFailure(f"cannot open {path}: {err.strerror}") from err
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as err:
                    if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise RuntimeFailure(f"cannot lock {path}: {err.strerror}") from err
                waiter.check()
                waiter.pause()
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            held = os.fstat(fd)
            if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


_registry: dict[str, _RootLock] = {}
_registry_guard = threading.Lock()


def _state_for(root: str) -> _RootLock:
    """The process-wide lock state of a root, creating ``run/`` (0755) so the path can be resolved."""
    run_dir = os.path.dirname(lock_path(root))
    if not os.path.isdir(run_dir):
        try:
            os.makedirs(run_dir, mode=0o755, exist_ok=True)
            os.chmod(run_dir, 0o755)
        except OSError as err:
            raise RuntimeFailure(f"cannot create {run_dir}: {err.strerror}") from err
    path = os.path.join(os.path.realpath(run_dir), os.path.basename(LOCK_FILE))
    with _registry_guard:
        state = _registry.get(path)
        if state is None:
            state = _registry[path] = _RootLock(path)
        return state


def _reset_after_fork() -> None:
    """A forked child holds nothing: forget the parent's holders and close inherited descriptors."""
    global _registry_guard
    for state in _registry.values():
        if state.fd is not None:
            try:
                os.close(state.fd)  # closing our copy never releases the parent's flock
            except OSError:
                pass
    _registry.clear()
    _registry_guard = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


@contextmanager
def root_lock(
    root: str, *, timeout: float | None = None, cancel: threading.Event | None = None
) -> Iterator[str]:
    """Hold the exclusive lock of a stack root; re-entrant in the holding thread. Yields the lock path.

    Waits until acquired; ``timeout`` (seconds) or a set ``cancel`` event stop the wait with
    :class:`LockUnavailable`. Other threads and processes wait while it is held.
    """
    state = _state_for(root)
    state.acquire(_Waiter(state.path, timeout, cancel))
    try:
        yield state.path
    finally:
        state.release()


def holds_root_lock(root: str) -> bool:
    """Whether the calling thread currently holds the lock of ``root`` (for assertions in callers)."""
    path = os.path.join(os.path.realpath(os.path.dirname(lock_path(root))), os.path.basename(LOCK_FILE))
    with _registry_guard:
        state = _registry.get(path)
    return state is not None and state.held_by_current_thread()
