"""Streaming text responses that flush per chunk and stop their upstream when the client goes away.

Platform stream methods (logs with ``follow``, ``stack_up_stream``, ...) validate eagerly and return an
iterator of text chunks (usually lines). :func:`stream_text` runs that iterator on a pump thread and
hands chunks to the WSGI server one by one; the response side watches the client socket, and on
disconnect (or operator shutdown) it stops the pump: it calls the iterator's ``cancel()`` when it has
one (thread-safe, e.g. kills the subprocess), and always ``close()`` once the pump is done, so a
generator's ``finally`` runs. A failure after the 200 is written in-band as ``angee: <message>\\n``.
"""

from __future__ import annotations

import queue
import select
import socket
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from flask import Response

from angee.errors import AngeeError

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
POLL_SECONDS = 0.25
QUEUE_SIZE = 256

_END = object()


class _Failure:
    def __init__(self, message: str) -> None:
        self.message = message


def client_gone(environ: Mapping[str, Any]) -> bool:
    """Whether the HTTP client closed its connection (EOF readable on the request socket)."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError, ValueError):
        return False
    except OSError:
        return True


def _chunk_bytes(chunk: Any, lines: bool) -> bytes:
    if isinstance(chunk, bytes | bytearray):
        data = bytes(chunk)
        return data if not lines or data.endswith(b"\n") else data + b"\n"
    text = str(chunk)
    if lines and not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8", "replace")


class _Pump:
    """Drains an upstream iterator on its own thread into a bounded queue."""

    def __init__(self, upstream: Iterable[Any]) -> None:
        self.upstream = upstream
        self.iterator: Iterator[Any] | None = None
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_SIZE)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="angee-stream-pump", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _put(self, item: Any) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            self.iterator = iter(self.upstream)
            for chunk in self.iterator:
                if self.stopped.is_set() or not self._put(chunk):
                    break
        except AngeeError as exc:
            self._put(_Failure(str(exc)))
        except Exception as exc:  # an upstream bug must still end the stream visibly
            print(f"operator: stream failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._put(_Failure(str(exc) or type(exc).__name__))
        finally:
            close = getattr(self.iterator if self.iterator is not None else self.upstream, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:
                    print(f"operator: closing stream failed: {exc}", file=sys.stderr)
            self._put(_END)

    def stop(self) -> None:
        """Ask the upstream to end now (``cancel()`` when offered) and let the pump finish."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        cancel = getattr(self.upstream, "cancel", None)
        if callable(cancel):
            try:
                cancel()
            except Exception as exc:
                print(f"operator: cancelling stream failed: {exc}", file=sys.stderr)


def stream_chunks(
    upstream: Iterable[Any],
    environ: Mapping[str, Any],
    stopping: threading.Event | None = None,
    *,
    lines: bool = True,
) -> Iterator[bytes]:
    """The response body generator: chunks as they arrive, stopping on disconnect or shutdown."""
    pump = _Pump(upstream)
    pump.start()
    try:
        while True:
            try:
                item = pump.queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if client_gone(environ) or (stopping is not None and stopping.is_set()):
                    return
                continue
            if item is _END:
                return
            if isinstance(item, _Failure):
                yield f"angee: {item.message}\n".encode()
                return
            yield _chunk_bytes(item, lines)
    finally:
        pump.stop()


def stream_text(
    upstream: Iterable[Any],
    environ: Mapping[str, Any],
    stopping: threading.Event | None = None,
    *,
    lines: bool = True,
) -> Response:
    """A chunked ``text/plain`` response streaming ``upstream`` (each chunk flushed on its own)."""
    response = Response(
        stream_chunks(upstream, environ, stopping, lines=lines),
        status=200,
        content_type=TEXT_CONTENT_TYPE,
        direct_passthrough=True,
    )
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


class OutputStream:
    """The lines a Platform call reports through its ``output`` callback, as an iterator.

    The call runs on its own thread. :meth:`wait_started` lets the route turn a failure that happens
    before any output into a normal HTTP error; later failures end the iteration by raising (the
    stream writes them in-band). ``cancel()`` only detaches: the call itself keeps running (a
    foreground bring-up survives its client, §1.2).
    """

    def __init__(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_SIZE)
        self._detached = threading.Event()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(fn, args, kwargs), name="angee-output-stream", daemon=True
        )
        self._thread.start()

    def _put(self, item: Any) -> None:
        while not self._detached.is_set():
            try:
                self._queue.put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _emit(self, line: str) -> None:
        self._started.set()
        self._put(line)

    def _run(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            fn(*args, output=self._emit, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            self._error = exc
        finally:
            self._started.set()
            self._put(_END)

    def wait_started(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the first line or the end; re-raise an error that came first."""
        self._started.wait(timeout)
        if self._error is not None and self._queue.qsize() <= 1:
            raise self._error

    def __iter__(self) -> Iterator[str]:
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def cancel(self) -> None:
        """Stop delivering lines (the reader went away); unblocks a waiting reader."""
        self._detached.set()
        try:
            self._queue.put_nowait(_END)
        except queue.Full:
            pass
