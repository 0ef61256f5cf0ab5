"""Log reads for GraphQL (spec operator-and-cli §3.5): byte-bounded snapshots and live follows.

A snapshot query keeps whole lines while they fit in the byte limit, cuts the overflowing line on a
UTF-8 boundary and appends ``\\n[truncated]\\n`` once. A follow subscription reads one backend
follow stream in a reader thread; each event is one line with its trailing ``\\n`` (lines over
1 MiB are split) and closing the source closes the backend stream, which kills its process.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from angee.operator.graphql.hub import END, TIMEOUT

MAX_LOG_BYTES = 1024 * 1024
TRUNCATED = "\n[truncated]\n"
_QUEUE_SIZE = 256


def log_limit(limit: int | None) -> int:
    """The effective byte limit: ``None``, ≤ 0 or over 1 MiB → 1 MiB."""
    if limit is None or limit <= 0 or limit > MAX_LOG_BYTES:
        return MAX_LOG_BYTES
    return limit


def _lines(source: str | bytes | Iterable[str]) -> Iterator[str]:
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        yield from source.splitlines(keepends=True)
        return
    for line in source:
        yield line if line.endswith("\n") else line + "\n"


def cut_utf8(data: bytes, size: int) -> bytes:
    """The first ``size`` bytes of ``data`` without a partial UTF-8 character at the end."""
    if size >= len(data):
        return data
    end = size
    # step back over continuation bytes (10xxxxxx) to the start of the character cut in two
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end]


def bounded_log(source: str | bytes | Iterable[str], limit: int | None) -> str:
    """At most ``log_limit(limit)`` bytes of log lines, then the truncation marker if anything was cut."""
    cap = log_limit(limit)
    out = bytearray()
    lines = _lines(source)
    try:
        for line in lines:
            data = line.encode("utf-8")
            if len(out) + len(data) <= cap:
                out += data
                continue
            out += cut_utf8(data, cap - len(out))
            out += TRUNCATED.encode()
            break
    finally:
        close = getattr(source, "close", None)
        if callable(close):
            close()
    return out.decode("utf-8", errors="replace")


def split_line(line: str, size: int = MAX_LOG_BYTES) -> list[str]:
    """``line`` + ``\\n`` as events of at most ``size`` bytes (the last one ends with the newline)."""
    text = line if line.endswith("\n") else line + "\n"
    data = text.encode("utf-8")
    if len(data) <= size:
        return [text]
    parts: list[str] = []
    while data:
        piece = cut_utf8(data, size) or data[:size]
        parts.append(piece.decode("utf-8", errors="replace"))
        data = data[len(piece) :]
    return parts


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class LogFollowSource:
    """An event source over one backend follow stream (an iterator of lines with a ``close()``).

    A reader thread pulls lines; :meth:`get` returns the next line event, ``TIMEOUT`` or ``END`` and
    re-raises a backend failure; :meth:`close` ends the follow (killing the backend process).
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = lines
        self._iter = iter(lines)
        self._queue: queue.Queue[Any] = queue.Queue(_QUEUE_SIZE)
        self._closed = threading.Event()
        self._ended = False
        self._thread = threading.Thread(target=self._read, name="angee-log-follow", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        try:
            for line in self._iter:
                if self._closed.is_set():
                    break
                for piece in split_line(line):
                    if not self._put(piece):
                        break
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            if not self._closed.is_set():
                self._put(_Failure(err))
        finally:
            self._close_backend()
            self._put(END)

    def _close_backend(self) -> None:
        """Close the backend from the reader thread (runs a generator's ``finally``)."""
        close = getattr(self._iter, "close", None) or getattr(self._lines, "close", None)
        if callable(close):
            try:
                close()
            except ValueError:  # a generator still running elsewhere: it ends by itself
                pass

    def _cancel_backend(self) -> None:
        """Stop the backend from another thread: ``cancel()`` when offered, else a thread-safe ``close()``."""
        for target in (self._lines, self._iter):
            cancel = getattr(target, "cancel", None)
            if callable(cancel):
                cancel()
                return
        try:
            self._close_backend()
        except Exception:  # a backend whose close is not thread-safe stops at its next line
            pass

    def get(self, timeout: float | None = None) -> Any:
        """The next line (with ``\\n``), ``TIMEOUT`` or ``END``; a backend failure is raised here."""
        if self._ended:
            return END
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return TIMEOUT
        if item is END:
            self._ended = True
            return END
        if isinstance(item, _Failure):
            self._ended = True
            raise item.error
        return item

    def close(self) -> None:
        """Stop following: close the backend stream (kills its process) and release the reader."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._ended = True
        self._cancel_backend()
