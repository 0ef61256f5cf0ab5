"""The per-service live log socket and the endpoint descriptor (operator-and-cli §3.6) against the REAL
operator server, with a real WebSocket client, on a stack whose local service prints lines through the
embedded engine."""

from __future__ import annotations

import http.client
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import simple_websocket

from angee.operator.rest.logfollow import ARGV_MARK
from angee.operator.rest.logsocket import infer_level, parse_tail
from angee.platform import Platform
from tests.operator.conftest import make_stack, wait_for

TOKEN = "adm1n"
MANIFEST = """\
version: 1
kind: stack
name: logsock
services:
  ticker:
    runtime: local
    command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo "INFO: tick $i"; echo "[ERROR] boom $i"; sleep 0.1; done']
  quiet:
    runtime: local
    command: [sleep, '1000']
"""
KEY_HEADERS = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}

needs_runtime = pytest.mark.skipif(
    not (hasattr(Platform, "service_logs") and hasattr(Platform, "stack_dev")),
    reason="Platform.service_logs / stack_dev (runtime operations) have not landed yet",
)


# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def running_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A stack root whose ``ticker`` service runs (embedded engine) and prints two lines per tick."""
    monkeypatch.setenv("ANGEE_LOCAL_ENGINE", "embedded")
    root = make_stack(tmp_path / "stack", MANIFEST)
    platform = Platform(str(root))
    platform.stack_dev(detach=True)
    try:
        yield root
    finally:
        platform.stack_down()


@pytest.fixture
def server(running_stack: Path, operator_server: Any) -> Any:
    return operator_server(running_stack, "--token", TOKEN, env={"ANGEE_LOCAL_ENGINE": "embedded"})


def mint(server: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, data = server.json("POST", path, body, token=TOKEN)
    assert status == 200, data
    return data


def handshake(server: Any, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """A raw upgrade request: the status and, for a refusal, the JSON body."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("GET", path, headers={**KEY_HEADERS, **(headers or {})})
        response = conn.getresponse()
        if response.status == 101:
            return 101, None
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def connect(server: Any, path: str, **kw: Any) -> simple_websocket.Client:
    return simple_websocket.Client.connect(f"ws://{server.host}:{server.port}{path}", **kw)


def frames(ws: simple_websocket.Client, count: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        raw = ws.receive(timeout=20)
        assert raw is not None, "no log frame within 20 s"
        out.append(json.loads(raw))
    return out


def follower_pids(root: Path) -> list[int]:
    """Log follow processes of this stack (their argv carries the marker and the root)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = fh.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if ARGV_MARK in argv and any(str(root) in arg for arg in argv):
            pids.append(int(entry))
    return pids


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------------------- units


def test_tail_parsing() -> None:
    assert parse_tail({"tail": "25"}) == 25
    assert parse_tail({"n": "7"}) == 7
    assert parse_tail({"tail": "3", "n": "9"}) == 3
    assert parse_tail({"tail": "-4"}) == 0
    assert parse_tail({"tail": "lots"}) == 0
    assert parse_tail({}) == 0
    assert parse_tail({"tail": "999999"}) == 10_000


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("time=1 level=warn msg=disk", "WARN"),
        ('{"level":"error","msg":"x"}', "ERROR"),
        ("[ERROR] boom", "ERROR"),
        ("[info] started", "INFO"),
        ("INFO: tick 1", "INFO"),
        ("WARNING:root:careful", "WARN"),
        ("2026-01-02 10:00:00 FATAL db gone", "ERROR"),
        ("panic: runtime error", "ERROR"),
        ("DEBUG | cache hit", "DEBUG"),
        ("trace: enter", "TRACE"),
        ("plain text with an error inside", ""),
        ("", ""),
    ],
)
def test_level_inference(message: str, level: str) -> None:
    assert infer_level(message) == level


# ---------------------------------------------------------------------------- the socket


@needs_runtime
def test_lines_arrive_as_loglines_with_inferred_levels(server: Any) -> None:
    token = mint(server, "/tokens/route", {"actor": "viewer", "service": "ticker"})["token"]
    ws = connect(server, f"/services/ticker/logs/stream?token={token}&tail=4")
    try:
        received = frames(ws, 6)
    finally:
        ws.close()
    for frame in received:
        assert list(frame) == ["service", "runtime", "message", "level"]
        assert (frame["service"], frame["runtime"]) == ("ticker", "local")
        assert not frame["message"].endswith(("\n", "\r"))
        expected = "INFO" if frame["message"].startswith("INFO: tick") else "ERROR"
        assert frame["message"].startswith(("INFO: tick", "[ERROR] boom")) and frame["level"] == expected


@needs_runtime
def test_route_tokens_are_accepted_only_for_their_service(server: Any) -> None:
    quiet = mint(server, "/tokens/route", {"actor": "viewer", "service": "quiet"})["token"]
    ticker = mint(server, "/tokens/route", {"actor": "viewer", "service": "ticker"})["token"]
    operator = mint(server, "/tokens/mint", {"actor": "ui"})["token"]
    assert handshake(server, f"/services/ticker/logs/stream?token={quiet}") == (
        401,
        {"error": "unauthorized"},
    )
    assert handshake(server, "/services/ticker/logs/stream") == (401, {"error": "unauthorized"})
    assert handshake(server, f"/services/ticker/logs/stream?token={ticker}")[0] == 101
    assert (
        handshake(server, "/services/ticker/logs/stream", {"Authorization": f"Bearer {operator}"})[0] == 101
    )
    assert handshake(server, f"/services/ticker/logs/stream?token={TOKEN}")[0] == 101
    forwarded = {"X-Forwarded-Uri": f"/services/ticker/logs/stream?token={ticker}"}
    assert handshake(server, "/services/ticker/logs/stream", forwarded)[0] == 101
    # a route token is no operator credential
    assert server.request("GET", "/stack/status", token=ticker)[0] == 401


@needs_runtime
def test_a_subprotocol_credential_is_echoed(server: Any) -> None:
    token = mint(server, "/tokens/route", {"actor": "browser", "service": "ticker"})["token"]
    ws = connect(server, "/services/ticker/logs/stream", subprotocols=[token, "angee.logs"])
    try:
        assert ws.subprotocol == token
        assert frames(ws, 1)[0]["service"] == "ticker"
    finally:
        ws.close()


@needs_runtime
def test_refusals_come_before_the_upgrade(server: Any, running_stack: Path) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, body = handshake(server, "/services/nope/logs/stream", auth)
    assert (status, body["kind"], body["name"]) == (404, "service", "nope")
    status, body = handshake(
        server, "/services/ticker/logs/stream", {**auth, "Origin": "https://evil.example"}
    )
    assert (status, body) == (403, {"error": "cross-origin request rejected"})
    assert (
        handshake(server, "/services/ticker/logs/stream", {**auth, "Origin": "http://localhost:5173"})[0]
        == 101
    )
    wait_for(lambda: not any(alive(p) for p in follower_pids(running_stack)), what="no follow process left")
    plain = server.request("GET", "/services/ticker/logs/stream", token=TOKEN)
    assert plain[0] == 400  # not an upgrade request


@needs_runtime
def test_closing_the_client_kills_the_follow_process(server: Any, running_stack: Path) -> None:
    ws = connect(server, f"/services/ticker/logs/stream?token={TOKEN}")
    frames(ws, 1)
    pids = follower_pids(running_stack)
    assert len(pids) == 1 and alive(pids[0])
    ws.close()
    wait_for(lambda: not alive(pids[0]), timeout=10, what="the follow process to exit")
    assert follower_pids(running_stack) == [] or not any(alive(p) for p in follower_pids(running_stack))


@needs_runtime
def test_the_upstream_ending_closes_the_socket_normally(server: Any, running_stack: Path) -> None:
    ws = connect(server, f"/services/ticker/logs/stream?token={TOKEN}&n=1")
    frames(ws, 1)
    ws.send("client frames are ignored")
    Platform(str(running_stack)).stack_down()
    with pytest.raises(simple_websocket.ConnectionClosed) as closed:
        while True:
            if ws.receive(timeout=30) is None:
                pytest.fail("the socket stayed open after the engine stopped")
    assert closed.value.reason == 1000


@needs_runtime
def test_the_endpoint_describes_the_log_socket(
    server: Any, operator_server: Any, running_stack: Path
) -> None:
    status, body = server.json("GET", "/services/ticker/endpoint", token=TOKEN)
    assert status == 200
    stream = body["log_stream"]
    assert stream["url"] == f"ws://{server.host}:{server.port}/services/ticker/logs/stream"
    assert (stream["target"], stream["protocol"]) == ("operator", "ws")
    assert stream["expires_at"].endswith("Z")
    ws = connect(server, "/services/ticker/logs/stream", subprotocols=[stream["token"]])
    try:
        assert frames(ws, 1)[0]["service"] == "ticker"
    finally:
        ws.close()
    open_mode = operator_server(running_stack, env={"ANGEE_LOCAL_ENGINE": "embedded"})
    status, body = open_mode.json("GET", "/services/ticker/endpoint")
    assert status == 200 and set(body["log_stream"]) == {"url", "target", "protocol"}
    status, body = open_mode.json("GET", "/services/nope/endpoint")
    assert (status, body["kind"]) == (404, "service")


@needs_runtime
def test_operator_shutdown_closes_open_sockets(server: Any, running_stack: Path) -> None:
    ws = connect(server, f"/services/ticker/logs/stream?token={TOKEN}")
    frames(ws, 1)
    pids = follower_pids(running_stack)
    server.proc.send_signal(signal.SIGTERM)
    with pytest.raises(simple_websocket.ConnectionClosed):
        while ws.receive(timeout=30) is not None:
            pass
    wait_for(lambda: not any(alive(p) for p in pids), timeout=15, what="the follow process to exit")
