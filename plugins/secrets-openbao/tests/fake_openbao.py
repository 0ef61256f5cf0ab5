"""A small in-process fake of the OpenBao HTTP API: the KV v2 endpoints, token lookup and sys/health.

No OpenBao binary can be installed where these tests run, so this speaks the documented wire format
(``/v1/<mount>/data/<path>``, ``/v1/<mount>/metadata/<path>`` incl. ``LIST``/``?list=true``,
``/v1/auth/token/lookup-self``, ``/v1/sys/health``) closely enough to pin the plugin's exact requests.
It records every request (method, path, query, headers, body) for assertions.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SEALED_ERROR = "Vault is sealed"  # the text OpenBao (a Vault fork) answers with a 503 while sealed
PERMISSION_DENIED = "permission denied"


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str  # URL path without the query, e.g. /v1/secret/data/angee/db
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON, or None when the body was empty / not JSON
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class _Version:
    data: dict[str, Any]
    created_time: str
    deletion_time: str = ""


@dataclass
class _Entry:
    versions: list[_Version] = field(default_factory=list)

    def metadata(self, number: int) -> dict[str, Any]:
        v = self.versions[number - 1]
        return {
            "created_time": v.created_time,
            "custom_metadata": None,
            "deletion_time": v.deletion_time,
            "destroyed": False,
            "version": number,
        }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


class FakeOpenBao:
    """A threaded fake OpenBao on ``127.0.0.1:<random port>``; ``token=None`` accepts any request.

    Switches: ``sealed`` (503 everywhere but sys/health's sealed answer), ``override = (status, body)``
    (every non-health request answers that), ``mounts`` (KV v2 mounts; others get "no handler for route").
    """

    def __init__(self, token: str | None = "root-token", mounts: tuple[str, ...] = ("secret",)) -> None:
        self.token = token
        self.mounts = set(mounts)
        self.sealed = False
        self.override: tuple[int, Any] | None = None
        self.requests: list[RecordedRequest] = []
        self._store: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeOpenBao:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-openbao",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenBao:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ test helpers

    def put(self, mount: str, path: str, data: dict[str, Any]) -> None:
        """Store a new version of ``mount``/``path`` directly (as another client would)."""
        with self._lock:
            self._store.setdefault((mount, path), _Entry()).versions.append(_Version(dict(data), _now()))

    def read(self, mount: str, path: str) -> dict[str, Any] | None:
        """The latest live version's data of ``mount``/``path``, or ``None``."""
        with self._lock:
            entry = self._store.get((mount, path))
            if entry is None or not entry.versions or entry.versions[-1].deletion_time:
                return None
            return dict(entry.versions[-1].data)

    def version_count(self, mount: str, path: str) -> int:
        with self._lock:
            entry = self._store.get((mount, path))
            return len(entry.versions) if entry else 0

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # ------------------------------------------------------------------ request handling

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        """Answer one request: ``(status, JSON body or None)``."""
        split = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(method, split.path, query, headers, body, raw)
        with self._lock:
            self.requests.append(record)
            return self._route(record)

    def _route(self, req: RecordedRequest) -> tuple[int, Any]:
        if not req.path.startswith("/v1/"):
            return 404, {"errors": []}
        rest = unquote(req.path[len("/v1/") :])
        if rest == "sys/health":
            if self.sealed:
                return 503, {"initialized": True, "sealed": True, "standby": True, "version": "2.0.0"}
            return 200, {"initialized": True, "sealed": False, "standby": False, "version": "2.0.0"}
        if self.sealed:
            return 503, {"errors": [SEALED_ERROR]}
        if self.override is not None:
            return self.override
        if self.token is not None and req.header("X-Vault-Token") != self.token:
            return 403, {"errors": [PERMISSION_DENIED]}
        if rest == "auth/token/lookup-self":
            if req.method not in ("GET", "POST"):
                return 405, {"errors": ["unsupported operation"]}
            return 200, self._envelope(
                {
                    "accessor": "fake-accessor",
                    "display_name": "token",
                    "policies": ["root"],
                    "ttl": 0,
                    "type": "service",
                }
            )
        mount = self._mount_of(rest)
        if mount is None:
            return 404, {"errors": [f'no handler for route "{rest}". route entry not found.']}
        sub = rest[len(mount) :].lstrip("/")
        kind, _, key = sub.partition("/")
        if kind == "data" and key:
            return self._data(req, mount, key)
        if kind == "metadata":
            return self._metadata(req, mount, key.rstrip("/"))
        return 404, {"errors": ["unsupported path"]}

    def _mount_of(self, rest: str) -> str | None:
        for mount in sorted(self.mounts, key=len, reverse=True):
            if rest == mount or rest.startswith(mount + "/"):
                return mount
        return None

    @staticmethod
    def _envelope(data: Any) -> dict[str, Any]:
        return {
            "request_id": str(uuid.uuid4()),
            "lease_id": "",
            "renewable": False,
            "lease_duration": 0,
            "data": data,
            "wrap_info": None,
            "warnings": None,
            "auth": None,
        }

    def _data(self, req: RecordedRequest, mount: str, key: str) -> tuple[int, Any]:
        entry = self._store.get((mount, key))
        if req.method == "GET":
            if entry is None or not entry.versions:
                return 404, {"errors": []}
            number = int(req.query.get("version") or 0) or len(entry.versions)
            if number > len(entry.versions):
                return 404, {"errors": []}
            version = entry.versions[number - 1]
            if version.deletion_time:
                return 404, self._envelope({"data": None, "metadata": entry.metadata(number)})
            return 200, self._envelope({"data": dict(version.data), "metadata": entry.metadata(number)})
        if req.method in ("POST", "PUT"):
            data = req.body.get("data") if isinstance(req.body, dict) else None
            if not isinstance(data, dict):
                return 400, {"errors": ["no data provided"]}
            entry = self._store.setdefault((mount, key), _Entry())
            entry.versions.append(_Version(dict(data), _now()))
            return 200, self._envelope(entry.metadata(len(entry.versions)))
        if req.method == "DELETE":  # soft delete of the latest version
            if entry is not None and entry.versions:
                entry.versions[-1].deletion_time = _now()
            return 204, None
        return 405, {"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]}

    def _metadata(self, req: RecordedRequest, mount: str, key: str) -> tuple[int, Any]:
        listing = req.method == "LIST" or (req.method == "GET" and req.query.get("list") == "true")
        if listing:
            prefix = f"{key}/" if key else ""
            keys: set[str] = set()
            for m, k in self._store:
                if m == mount and k.startswith(prefix):
                    head, sep, _ = k[len(prefix) :].partition("/")
                    keys.add(head + sep)
            if not keys:
                return 404, {"errors": []}
            return 200, self._envelope({"keys": sorted(keys)})
        entry = self._store.get((mount, key)) if key else None
        if req.method == "GET":
            if entry is None:
                return 404, {"errors": []}
            versions = {str(i + 1): entry.metadata(i + 1) for i in range(len(entry.versions))}
            return 200, self._envelope({"current_version": len(entry.versions), "versions": versions})
        if req.method == "DELETE":  # metadata and every version; OpenBao answers 204 even when absent
            self._store.pop((mount, key), None)
            return 204, None
        return 405, {"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenBao
    server_version = "FakeOpenBao/1.0"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, body = self.fake.handle(self.command, self.path, dict(self.headers.items()), raw)
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_LIST = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@contextlib.contextmanager
def refusing_address() -> Iterator[str]:
    """An ``http://127.0.0.1:<port>`` where nothing listens (the port is held bound, so connects are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@contextlib.contextmanager
def silent_address() -> Iterator[str]:
    """An address that accepts TCP connections but never answers (requests to it time out)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
