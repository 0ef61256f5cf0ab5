"""Read batching: concurrent identical reads share one Platform call (operator-level, no staleness).

A status read can cost tens of milliseconds (it asks docker and the local engine), and UIs poll.
Identical reads that arrive while one is running wait for it to finish and then share the NEXT call,
which starts after all of them arrived: every response still reflects a read that began after its
request did (read-your-writes holds), but N waiting clients cost one call instead of N.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any


class _Batch:
    __slots__ = ("done", "error", "has_leader", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.has_leader = False


class _Key:
    __slots__ = ("pending", "running", "users")

    def __init__(self) -> None:
        self.pending: _Batch | None = None
        self.running = threading.Lock()
        self.users = 0


class ReadBatcher:
    """Runs ``fn`` once per batch of concurrent callers with the same key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[Hashable, _Key] = {}

    def run(self, key: Hashable, fn: Callable[[], Any]) -> Any:
        with self._lock:
            state = self._keys.get(key)
            if state is None:
                state = self._keys[key] = _Key()
            state.users += 1
            batch = state.pending
            if batch is None:
                batch = state.pending = _Batch()
            leader = not batch.has_leader
            batch.has_leader = True
        try:
            if leader:
                with state.running:  # one call per key at a time; the batch closes when its call starts
                    with self._lock:
                        if state.pending is batch:
                            state.pending = None
                    try:
                        batch.result = fn()
                    except BaseException as exc:  # noqa: BLE001 - shared with the batch, re-raised below
                        batch.error = exc
                    finally:
                        batch.done.set()
            else:
                batch.done.wait()
        finally:
            with self._lock:
                state.users -= 1
                if state.users == 0 and self._keys.get(key) is state:
                    del self._keys[key]
        if batch.error is not None:
            raise batch.error
        return batch.result
