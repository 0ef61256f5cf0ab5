"""GraphQL over Server-Sent Events (spec operator-and-cli §3.2).

The body opens with a ``:`` comment, then one ``event: next`` per result (``data:`` = compact JSON
``{data, errors?}``) and ``event: complete`` when the source ends; ``: ping`` after ``keepalive``
seconds of silence. A client disconnect (EOF on the request socket), hub stop or operator shutdown
ends the stream and releases its source (unsubscribe, kill a log follower).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from angee.operator.graphql.execution import ResultStream
from angee.operator.graphql.hub import END, TIMEOUT

OPENING = b":\n\n"
PING = b": ping\n\n"
COMPLETE = b"event: complete\n\n"
POLL_SECONDS = 0.25


def next_event(result: dict[str, Any]) -> bytes:
    """One ``event: next`` frame carrying ``result`` as single-line compact JSON."""
    data = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return b"event: next\ndata: " + data.encode("utf-8") + b"\n\n"


def sse_frames(
    stream: ResultStream,
    *,
    keepalive: float,
    gone: Callable[[], bool] = lambda: False,
    stopping: Any = None,
) -> Iterator[bytes]:
    """The SSE body of one operation; closing the generator (server-side disconnect) releases it too."""
    try:
        yield OPENING
        last = time.monotonic()
        while True:
            item = stream.next(timeout=min(POLL_SECONDS, keepalive))
            if item is END:
                break
            if item is TIMEOUT:
                if gone():
                    return
                if stopping is not None and stopping.is_set():
                    break
                if time.monotonic() - last >= keepalive:
                    yield PING
                    last = time.monotonic()
                continue
            yield next_event(item)
            last = time.monotonic()
        yield COMPLETE
    finally:
        stream.close()


def sse_response(stream: ResultStream, environ: Any, surface: Any) -> Any:
    """A streaming ``text/event-stream`` response for ``stream`` (flushed per frame)."""
    from flask import Response

    from angee.operator.rest.streams import client_gone

    body = sse_frames(
        stream, keepalive=surface.keepalive, gone=lambda: client_gone(environ), stopping=surface.stopping
    )
    response = Response(body, status=200, mimetype="text/event-stream", direct_passthrough=True)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Connection"] = "keep-alive"
    response.headers["X-Accel-Buffering"] = "no"
    return response
