"""The snapshot event hub (spec operator-and-cli §3.4): polled streams, change detection, fan-out.

Each stream has a poll function returning a JSON-ready value. One poller thread ticks every
``tick`` seconds (2 s) and polls only the streams that have subscribers; a result is published when
the SHA-256 of its canonical JSON differs from the stream's last published hash (the baseline starts
empty). A new subscriber sees only later publications. Each subscriber buffers ``BUFFER`` events and
publishing never blocks: a full buffer drops that event for that subscriber. Stopping the hub ends
every subscription.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

DEFAULT_TICK = 2.0
BUFFER = 4


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


TIMEOUT: Any = _Marker("TIMEOUT")
"""Returned by ``get`` when nothing arrived in time."""
END: Any = _Marker("END")
"""Returned by ``get`` once the source has ended (hub stopped, stream finished)."""


def canonical_hash(value: Any) -> str:
    """SHA-256 hex of the canonical JSON of ``value`` (sorted keys, compact separators)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stderr_line(line: str) -> None:
    """Write one diagnostic line to stderr (the operator's log)."""
    print(line, file=sys.stderr, flush=True)


class Subscriber:
    """One subscription's bounded buffer on a hub stream; ``get`` waits, ``close`` unsubscribes."""

    def __init__(self, hub: EventHub, stream: HubStream, size: int = BUFFER) -> None:
        self._hub = hub
        self.stream = stream
        self._size = size
        self._events: deque[Any] = deque()
        self._cond = threading.Condition()
        self._ended = False
        self.dropped = 0

    def offer(self, event: Any) -> bool:
        """Queue ``event`` unless the buffer is full (then it is dropped); never blocks."""
        with self._cond:
            if self._ended:
                return False
            if len(self._events) >= self._size:
                self.dropped += 1
                return False
            self._events.append(event)
            self._cond.notify_all()
            return True

    def finish(self) -> None:
        """End the subscription: buffered events are still delivered, then ``END``."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Any:
        """The next event, ``TIMEOUT`` after ``timeout`` seconds without one, or ``END``."""
        with self._cond:
            if not self._events and not self._ended:
                self._cond.wait_for(lambda: self._events or self._ended, timeout)
            if self._events:
                return self._events.popleft()
            return END if self._ended else TIMEOUT

    def close(self) -> None:
        """Unsubscribe (idempotent)."""
        self.finish()
        self._hub.unsubscribe(self)


class HubStream:
    """One polled stream: its log label, poll function, subscribers and change-detection state."""

    def __init__(self, key: str, label: str, poll: Callable[[], Any]) -> None:
        self.key = key
        self.label = label
        self.poll = poll
        self.subscribers: set[Subscriber] = set()
        self.last_hash = ""
        self.last_error = ""
        self.published = 0


class EventHub:
    """Polled streams fanned out to subscribers (one poller thread, started on demand)."""

    def __init__(
        self, *, tick: float = DEFAULT_TICK, log: Callable[[str], None] = stderr_line, autostart: bool = True
    ) -> None:
        self.tick = tick
        self.autostart = autostart
        self._log = log
        self._streams: dict[str, HubStream] = {}
        self._lock = threading.RLock()
        self._ticks = 0
        self._tick_cond = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ streams and subscribers

    def add_stream(self, key: str, label: str, poll: Callable[[], Any]) -> HubStream:
        """Declare a stream (``label`` is its name in poll log lines); an existing key is kept."""
        with self._lock:
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = HubStream(key, label, poll)
            return stream

    def stream(self, key: str) -> HubStream | None:
        with self._lock:
            return self._streams.get(key)

    def subscribe(self, key: str) -> Subscriber:
        """A new subscriber of stream ``key`` (declared with :meth:`add_stream`); starts the poller
        unless ``autostart`` is off (then ticks run through :meth:`start` or :meth:`poll_once`).

        After the hub stopped the subscriber is already ended.
        """
        with self._lock:
            stream = self._streams[key]
            subscriber = Subscriber(self, stream)
            if self._stopped:
                subscriber.finish()
                return subscriber
            stream.subscribers.add(subscriber)
        if self.autostart:
            self.start()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            subscriber.stream.subscribers.discard(subscriber)

    def subscriber_count(self, key: str) -> int:
        with self._lock:
            stream = self._streams.get(key)
            return len(stream.subscribers) if stream else 0

    # ------------------------------------------------------------------ polling

    def poll_once(self) -> None:
        """One tick: poll every stream that has subscribers and publish what changed."""
        with self._lock:
            streams = [s for s in self._streams.values() if s.subscribers]
        for stream in streams:
            if self._stop.is_set():
                break
            self._poll_stream(stream)
        with self._lock:
            self._ticks += 1
            self._tick_cond.notify_all()

    def _poll_stream(self, stream: HubStream) -> None:
        try:
            value = stream.poll()
            digest = canonical_hash(value)
        except Exception as err:  # a failing read skips this stream's tick
            message = str(err) or type(err).__name__
            if message != stream.last_error:
                stream.last_error = message
                self._log(f"operator: {stream.label} poll failed: {message}")
            return
        if stream.last_error:
            stream.last_error = ""
            self._log(f"operator: {stream.label} poll recovered")
        with self._lock:
            if digest == stream.last_hash:
                return
            stream.last_hash = digest
            stream.published += 1
            subscribers = list(stream.subscribers)
        for subscriber in subscribers:
            subscriber.offer(value)

    @property
    def ticks(self) -> int:
        """How many ticks have completed (lets callers await the next poll)."""
        with self._lock:
            return self._ticks

    def wait_ticks(self, count: int, timeout: float | None = None) -> bool:
        """Block until ``count`` more ticks completed after this call; False on timeout."""
        with self._tick_cond:
            target = self._ticks + count
            return self._tick_cond.wait_for(lambda: self._ticks >= target or self._stopped, timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as err:  # never let the poller die
                self._log(f"operator: event hub tick failed: {err}")
            self._stop.wait(self.tick)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the poller thread (idempotent; no-op after :meth:`stop`)."""
        with self._lock:
            if self._stopped or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._run, name="angee-event-hub", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and end every subscription (each sees ``END`` after its buffered events)."""
        with self._lock:
            self._stopped = True
            self._stop.set()
            subscribers = [s for stream in self._streams.values() for s in stream.subscribers]
            for stream in self._streams.values():
                stream.subscribers.clear()
            self._tick_cond.notify_all()
        for subscriber in subscribers:
            subscriber.finish()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stopped
