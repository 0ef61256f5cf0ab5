"""Streaming on the real server: per-chunk flushing, upstream closed on disconnect, in-band failures,
and WebSocket upgrades through the gthread worker."""

from __future__ import annotations

import http.client
import json
import signal
import socket

import pytest

from angee.errors import NotFound, RuntimeFailure
from angee.remote import RemotePlatform
from tests.operator.conftest import wait_for


def open_stream(
    server, method: str, path: str, body: bytes | None = None
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    conn.request(method, path, body=body)
    return conn, conn.getresponse()


def test_chunks_reach_the_client_one_by_one(scripted_server) -> None:
    server, gates = scripted_server
    conn, response = open_stream(server, "GET", "/stack/logs")
    try:
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/plain; charset=utf-8"
        assert response.getheader("Transfer-Encoding") == "chunked"
        # the upstream is blocked until the gate file exists: this line can only arrive if flushed alone
        assert response.readline() == b"first line\n"
        assert not (gates / "go").exists()
        (gates / "go").touch()
        assert response.readline() == b"second line\n"
        assert response.read() == b""
    finally:
        conn.close()
    wait_for(lambda: (gates / "closed").exists(), what="the finished upstream to be closed")


def test_disconnect_closes_the_upstream(scripted_server) -> None:
    server, gates = scripted_server
    (gates / "go").touch()
    conn, response = open_stream(server, "GET", "/stack/logs?follow=true")
    assert response.readline() == b"first line\n"
    assert response.readline() == b"second line\n"
    assert response.readline() == b"tick\n"
    assert not (gates / "closed").exists()
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    wait_for(
        lambda: (gates / "closed").exists(), timeout=15, what="the follow stream's upstream to be closed"
    )


def test_disconnect_is_noticed_while_the_upstream_is_idle(scripted_server) -> None:
    server, gates = scripted_server
    conn, response = open_stream(server, "GET", "/services/web/logs?follow=true")
    assert response.readline() == b"hello\n"
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    # nothing is written any more, so only watching the socket can notice the client is gone
    wait_for(lambda: (gates / "cancelled").exists(), timeout=15, what="the idle upstream to be cancelled")


def test_failure_before_output_is_a_normal_error(scripted_server) -> None:
    server, _ = scripted_server
    status, body = server.json("POST", "/stack/up/stream", {"services": ["missing"]})
    assert (status, body) == (
        404,
        {"error": 'service "missing" is not declared', "kind": "service", "name": "missing"},
    )
    with pytest.raises(NotFound, match=r'operator returned HTTP 404: service "missing" is not declared'):
        RemotePlatform(server.url).stack_up(["missing"], output=lambda line: None)


def test_failure_after_output_is_written_in_band(scripted_server) -> None:
    server, _ = scripted_server
    conn, response = open_stream(
        server, "POST", "/stack/up/stream", json.dumps({"services": ["web"]}).encode()
    )
    try:
        assert response.status == 200
        assert response.read() == b"pulling images\nstarting web\nangee: web failed to start\n"
    finally:
        conn.close()
    seen: list[str] = []
    with pytest.raises(RuntimeFailure) as failure:
        RemotePlatform(server.url).stack_up(["web"], output=seen.append)
    assert seen == ["pulling images", "starting web"]
    assert str(failure.value) == "web failed to start"


def test_remote_log_lines_arrive_as_they_are_written(scripted_server) -> None:
    server, gates = scripted_server
    lines = RemotePlatform(server.url).stack_logs()
    assert next(lines) == "first line\n"
    (gates / "go").touch()
    assert list(lines) == ["second line\n"]


def test_websocket_upgrade_on_the_gthread_worker(scripted_server) -> None:
    import simple_websocket

    server, _ = scripted_server
    ws = simple_websocket.Client.connect(f"ws://{server.host}:{server.port}/test/echo")
    try:
        for text in ("one", "two"):
            ws.send(text)
            assert ws.receive(timeout=10) == f"echo:{text}"
        ws.send("bye")
    finally:
        ws.close()
    assert server.json("GET", "/healthz") == (200, {"status": "ok"})  # the worker still serves HTTP


def test_sigterm_ends_open_streams_and_exits_cleanly(scripted_server) -> None:
    server, gates = scripted_server
    conn, response = open_stream(server, "GET", "/services/web/logs?follow=true")
    try:
        assert response.readline() == b"hello\n"
        assert server.stop(signal.SIGTERM, timeout=20) == 0
        assert response.read() == b""  # the stream was ended by the shutdown, not cut mid-chunk
    finally:
        conn.close()
    assert (gates / "cancelled").exists()
