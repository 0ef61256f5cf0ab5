"""The operator's pool worker: start-up recovery, the TTL/lease reaper sweep and background pool jobs
(spec templates-workspaces-git §11.3, §11.5).

One daemon thread per operator. At start it recovers the pools (unfinished members destroyed, recycles
restarted) and sweeps once; then it sweeps every ``reap_interval`` seconds (``0`` disables the sweeps, not
the pool jobs) and in between runs the jobs the Platform hands it through ``pool_scheduler`` (top-ups and
recycles), one at a time, each pending job key at most once. :func:`install_pool_worker` ties it to the
operator's lifecycle (``on_start``/``on_stop``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from angee.errors import InvalidInput

DEFAULT_REAP_INTERVAL = 60.0
STOP_JOIN_SECONDS = 5.0


def parse_reap_interval(value: str | float | int | None) -> float:
    """``--reap-interval``: seconds as a number (``60``, ``0``) or a duration (``90s``, ``5m``); ``0``
    disables the sweeps. Negative or malformed → InvalidInput(field ``reap-interval``)."""
    from angee.workspaces.durations import parse_duration_ns

    if value is None or value == "":
        return DEFAULT_REAP_INTERVAL
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            seconds = parse_duration_ns(text, "reap-interval") / 1e9
    if seconds < 0 or seconds != seconds:
        raise InvalidInput("reap-interval", f'"{value}" must not be negative')
    return seconds


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class PoolWorker:
    """Runs the reaper sweeps and the pool's background jobs of one Platform on a single thread."""

    def __init__(
        self,
        platform: Any,
        reap_interval: float = DEFAULT_REAP_INTERVAL,
        log: Callable[[str], None] = _log,
    ) -> None:
        self.platform = platform
        self.reap_interval = max(float(reap_interval), 0.0)
        self.log = log
        self.sweeps = 0
        self._pending: OrderedDict[str, Callable[[], None]] = OrderedDict()
        self._running = ""
        self._started = False
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the worker thread (idempotent); it recovers the pools and sweeps first."""
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="angee-pool-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_JOIN_SECONDS) -> None:
        """Ask the thread to stop after its current step and wait up to ``timeout`` seconds for it.

        A step cut short by the process exit leaves its member ``provisioning``/``recycling`` in the
        manifest, which the next start-up recovers."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def submit(self, key: str, job: Callable[[], None]) -> None:
        """The Platform's ``pool_scheduler``: queue ``job`` unless a job with ``key`` is already pending."""
        with self._cond:
            if key not in self._pending:
                self._pending[key] = job
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Whether the worker finished its start-up and has no job pending or running within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self._started and not self._pending and not self._running):
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping.is_set():
                    return False
                self._cond.wait(left)
            return True

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        self._step("start-up recovery", self.platform._pool_recover)
        if self.reap_interval > 0:
            self._sweep()
        with self._cond:
            self._started = True
            self._cond.notify_all()
        next_sweep = time.monotonic() + self.reap_interval
        while not self._stopping.is_set():
            with self._cond:
                while not self._pending and not self._stopping.is_set():
                    if self.reap_interval > 0:
                        left = next_sweep - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    else:
                        self._cond.wait()
                if self._stopping.is_set():
                    return
                key, job = self._pending.popitem(last=False) if self._pending else ("", None)
                self._running = key
            if job is not None:
                self._step(key, job)
            elif self.reap_interval > 0:
                self._sweep()
                next_sweep = time.monotonic() + self.reap_interval
            with self._cond:
                self._running = ""
                self._cond.notify_all()

    def _sweep(self) -> None:
        self._step("reaper sweep", self.platform.workspace_reap)
        self.sweeps += 1

    def _step(self, what: str, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:  # a failing step must not stop the worker
            self.log(f"operator: pool worker: {what}: {type(exc).__name__}: {exc}")


def install_pool_worker(app: Any, reap_interval: float = DEFAULT_REAP_INTERVAL) -> PoolWorker | None:
    """Attach a :class:`PoolWorker` to an operator app built by ``create_app``: it becomes the Platform's
    ``pool_scheduler`` and follows the server's ``on_start``/``on_stop``. ``None`` when the app's Platform
    has no pool operations."""
    from angee.operator.app import operator_context

    ctx = operator_context(app)
    platform = ctx.platform
    if not callable(getattr(platform, "_pool_recover", None)):
        return None
    worker = PoolWorker(platform, reap_interval)
    platform.pool_scheduler = worker.submit
    ctx.on_start(worker.start)
    ctx.on_stop(worker.stop)
    app.extensions["angee.pool_worker"] = worker
    return worker
