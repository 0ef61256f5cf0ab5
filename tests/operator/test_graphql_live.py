"""Live subscriptions over SSE and WebSocket (spec §3.2–§3.5), with the hub's topology stream polling a
file of ours so the test decides when the topology changes; the operator app is served in-process."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from angee.platform import Platform
from tests.operator.graphql_support import (
    TOPOLOGY_QUERY,
    ServedOperator,
    SSEStream,
    TopologyFile,
    WSClient,
    post,
    served,
    use_topology_file,
    wait_for,
    write_stack,
)


@pytest.fixture
def operator(tmp_path: Path) -> Iterator[ServedOperator]:
    with served(write_stack(tmp_path / "stack")) as running:
        yield running


@pytest.fixture
def topology(operator: ServedOperator, tmp_path: Path) -> TopologyFile:
    return use_topology_file(operator, tmp_path / "topology.json")


def dirty(payload: dict) -> int:
    return payload["data"]["onGitOpsTopologyChange"]["summary"]["dirty"]


def subscribers(operator: ServedOperator) -> int:
    return operator.hub.subscriber_count("topology")


# --------------------------------------------------------------------------- SSE


def test_sse_subscription_emits_once_per_change(operator: ServedOperator, topology: TopologyFile) -> None:
    stream = SSEStream(operator, {"query": TOPOLOGY_QUERY})
    try:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.frame() == [":"]
        wait_for(lambda: subscribers(operator) == 1, what="the subscription")
        kind, first = stream.event()  # the stream's first poll ever publishes (empty baseline)
        assert (kind, dirty(first)) == ("next", 0)
        assert first["data"]["onGitOpsTopologyChange"]["summary"] == {"dirty": 0, "branchMismatch": 0}

        assert operator.hub.wait_ticks(3, timeout=10)  # unchanged ticks publish nothing...
        topology.set(dirty=1)
        kind, second = stream.event()  # ...so the next frame is the change
        assert (kind, dirty(second)) == ("next", 1)

        assert operator.hub.wait_ticks(3, timeout=10)
        topology.set(dirty=2)
        assert dirty(stream.event()[1]) == 2  # exactly one event for the previous change
    finally:
        stream.close()
    wait_for(lambda: subscribers(operator) == 0, what="the disconnect to unsubscribe")


def test_sse_late_subscriber_sees_no_event_on_subscribe(
    operator: ServedOperator, topology: TopologyFile
) -> None:
    first = SSEStream(operator, {"query": TOPOLOGY_QUERY})
    first.frame()
    assert dirty(first.event()[1]) == 0  # the stream's baseline is now published
    late = SSEStream(operator, {"query": TOPOLOGY_QUERY})
    try:
        assert late.frame() == [":"]
        wait_for(lambda: subscribers(operator) == 2, what="the second subscription")
        assert operator.hub.wait_ticks(3, timeout=10)
        topology.set(dirty=5)
        assert dirty(late.event()[1]) == 5
        assert dirty(first.event()[1]) == 5
    finally:
        first.close()
        late.close()


def test_sse_ping_after_silence_and_hub_stop_completes(
    operator: ServedOperator, topology: TopologyFile
) -> None:
    operator.surface.keepalive = 0.2
    topology.path.write_text("{not json")  # polls fail: no event, only the failure line
    stream = SSEStream(operator, {"query": TOPOLOGY_QUERY})
    try:
        assert stream.frame() == [":"]
        assert stream.frame() == [": ping"]
        operator.surface.stop()
        assert stream.frame() == ["event: complete"]
        assert stream.frame() == []
    finally:
        stream.close()


def test_sse_undeclared_workspace_is_not_found(operator: ServedOperator) -> None:
    query = 'subscription { onWorkspaceStatusChange(name: "ghost") { name state } }'
    stream = SSEStream(operator, {"query": query})
    try:
        assert stream.frame() == [":"]
        kind, payload = stream.event()
        assert kind == "next" and payload["data"] is None
        assert payload["errors"][0]["message"] == 'workspace "ghost" is not declared'
        assert payload["errors"][0]["extensions"] == {
            "code": "NOT_FOUND",
            "kind": "workspace",
            "name": "ghost",
        }
        assert payload["errors"][0]["path"] == ["onWorkspaceStatusChange"]
        assert stream.event() == ("complete", None)
    finally:
        stream.close()


# --------------------------------------------------------------------------- graphql-transport-ws


def test_ws_subscription_emits_once_per_change_and_complete_unsubscribes(
    operator: ServedOperator, topology: TopologyFile
) -> None:
    client = WSClient(operator)
    try:
        assert client.init() == {"type": "connection_ack"}
        client.send({"type": "subscribe", "id": "t", "payload": {"query": TOPOLOGY_QUERY}})
        message = client.receive()
        assert (message["id"], message["type"], dirty(message["payload"])) == ("t", "next", 0)
        assert operator.hub.wait_ticks(3, timeout=10)
        topology.set(dirty=3)
        message = client.receive()
        assert (message["type"], dirty(message["payload"])) == ("next", 3)

        client.send({"type": "complete", "id": "t"})
        wait_for(lambda: subscribers(operator) == 0, what="complete to unsubscribe")
        client.send({"type": "ping"})
        assert client.receive() == {"type": "pong"}  # no complete echoed for a client-cancelled operation
    finally:
        client.close()


def test_ws_socket_close_cancels_operations(operator: ServedOperator, topology: TopologyFile) -> None:
    client = WSClient(operator)
    client.init()
    client.send({"type": "subscribe", "id": "a", "payload": {"query": TOPOLOGY_QUERY}})
    client.send({"type": "subscribe", "id": "b", "payload": {"query": TOPOLOGY_QUERY}})
    wait_for(lambda: subscribers(operator) == 2, what="two subscriptions")
    client.close()
    wait_for(lambda: subscribers(operator) == 0, what="the close to cancel both")


def test_ws_errors_and_queries(operator: ServedOperator) -> None:
    client = WSClient(operator)
    try:
        client.init()
        client.send({"type": "subscribe", "id": "v", "payload": {"query": "{ nope }"}})
        message = client.receive()
        assert (message["id"], message["type"]) == ("v", "error")
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

        ghost = 'subscription { onWorkspaceStatusChange(name: "ghost") { name } }'
        client.send({"type": "subscribe", "id": "w", "payload": {"query": ghost}})
        message = client.receive()
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert client.receive() == {"id": "w", "type": "complete"}

        secret = 'mutation { secretSet(name: "api_key", value: "v1") { hasValue } }'
        client.send({"type": "subscribe", "id": "m", "payload": {"query": secret}})
        assert client.receive() == {
            "id": "m",
            "type": "next",
            "payload": {"data": {"secretSet": {"hasValue": True}}},
        }
        assert client.receive() == {"id": "m", "type": "complete"}
        assert Platform(operator.surface.platform.root).secret_value("api_key").value == "v1"
    finally:
        client.close()


def test_ws_init_timeout_closes_4408(operator: ServedOperator) -> None:
    operator.surface.init_timeout = 0.3
    client = WSClient(operator)
    try:
        assert client.wait_closed() == (4408, "Connection initialisation timeout")
    finally:
        client.close()


@pytest.mark.parametrize(
    ("messages", "code"),
    [
        ([{"type": "subscribe", "id": "1", "payload": {"query": "{ health { status } }"}}], 4401),
        (["init", {"type": "connection_init"}], 4429),
        (["init", "not json"], 4400),
        (["init", {"type": "mystery"}], 4400),
        (["init", {"type": "subscribe", "id": "", "payload": {}}], 4400),
        (
            [
                "init",
                {"type": "subscribe", "id": "x", "payload": {"query": TOPOLOGY_QUERY}},
                {"type": "subscribe", "id": "x", "payload": {"query": TOPOLOGY_QUERY}},
            ],
            4409,
        ),
    ],
)
def test_ws_protocol_violations(
    operator: ServedOperator, topology: TopologyFile, messages: list, code: int
) -> None:
    client = WSClient(operator)
    try:
        for message in messages:
            if message == "init":
                assert client.init() == {"type": "connection_ack"}
            elif isinstance(message, str):
                client.ws.send(message)
            else:
                client.send(message)
        assert client.wait_closed()[0] == code
    finally:
        client.close()


def test_ws_operator_shutdown_closes_1001(operator: ServedOperator, topology: TopologyFile) -> None:
    client = WSClient(operator)
    try:
        client.init()
        client.send({"type": "subscribe", "id": "t", "payload": {"query": TOPOLOGY_QUERY}})
        assert client.receive()["type"] == "next"
        operator.surface.stop()
        assert client.wait_closed()[0] == 1001
    finally:
        client.close()


# --------------------------------------------------------------------------- legacy graphql-ws


@pytest.mark.parametrize("protocols", [["graphql-ws"], []])
def test_legacy_graphql_ws(operator: ServedOperator, topology: TopologyFile, protocols: list[str]) -> None:
    client = WSClient(operator, protocols=protocols)
    try:
        assert client.subprotocol == (protocols[0] if protocols else None)
        assert client.init() == {"type": "connection_ack"}
        assert client.receive() == {"type": "ka"}
        client.send({"type": "start", "id": "1", "payload": {"query": TOPOLOGY_QUERY}})
        message = client.receive()
        assert (message["id"], message["type"], dirty(message["payload"])) == ("1", "data", 0)
        client.send({"type": "stop", "id": "1"})
        wait_for(lambda: subscribers(operator) == 0, what="stop to unsubscribe")
        client.send({"type": "start", "id": "2", "payload": {"query": "{ health { status } }"}})
        assert client.receive() == {
            "id": "2",
            "type": "data",
            "payload": {"data": {"health": {"status": "ok"}}},
        }
        assert client.receive() == {"id": "2", "type": "complete"}
        client.send({"type": "connection_terminate"})
        assert client.wait_closed()[0] == 1000
    finally:
        client.close()


def test_legacy_graphql_ws_rejects_a_bad_token(tmp_path: Path) -> None:
    with served(write_stack(tmp_path / "stack"), token="admin") as operator:
        client = WSClient(operator, protocols=["graphql-ws"])
        try:
            client.send({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
            assert client.receive() == {"type": "connection_error", "payload": {"message": "Forbidden"}}
            assert client.wait_closed()[0] == 4403
        finally:
            client.close()


# --------------------------------------------------------------------------- log subscriptions

TICKER = """\
version: 1
kind: stack
name: logdemo
services:
  ticker:
    runtime: local
    command: [{python}, "-u", "-c", "import time\\nfor i in range(100000):\\n    print('tick', i, flush=True)\\n    time.sleep(0.1)"]
"""


def follow_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "angee-log-follow" and t.is_alive()]


@pytest.fixture
def ticker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedOperator]:
    """A stack whose local service prints a line every 0.1 s, started through ``stackDev``."""
    if not callable(getattr(Platform, "service_logs", None)):
        pytest.skip(
            "onServiceLogs follows Platform.service_logs(name, follow=True), which has not landed yet"
        )
    monkeypatch.setenv("ANGEE_LOCAL_ENGINE", "embedded")
    root = write_stack(tmp_path / "stack", TICKER.format(python=json.dumps(sys.executable)))
    with served(root) as operator:
        try:
            status, _, body = post(operator, {"query": "mutation { stackDev { status } }"})
            assert (status, body) == (200, {"data": {"stackDev": {"status": "started"}}})
            yield operator
        finally:
            operator.surface.platform.stack_down()


def test_service_log_subscription_over_sse(ticker: ServedOperator) -> None:
    stream = SSEStream(ticker, {"query": 'subscription { onServiceLogs(name: "ticker") }'})
    try:
        assert stream.frame() == [":"]
        lines = [stream.event() for _ in range(3)]
        assert [kind for kind, _ in lines] == ["next"] * 3
        texts = [payload["data"]["onServiceLogs"] for _, payload in lines]
        assert all(re.fullmatch(r"tick \d+\n", text) for text in texts), texts
        assert follow_threads()
    finally:
        stream.close()
    wait_for(lambda: not follow_threads(), what="the disconnect to end the follow")


def test_service_log_subscription_over_websocket(ticker: ServedOperator) -> None:
    client = WSClient(ticker)
    try:
        client.init()
        client.send(
            {
                "type": "subscribe",
                "id": "l",
                "payload": {"query": 'subscription { onServiceLogs(name: "ticker") }'},
            }
        )
        first, second = client.receive(), client.receive()
        assert first["type"] == second["type"] == "next"
        assert re.fullmatch(r"tick \d+\n", second["payload"]["data"]["onServiceLogs"])
        client.send({"type": "complete", "id": "l"})
        wait_for(lambda: not follow_threads(), what="complete to end the follow")
        client.send(
            {
                "type": "subscribe",
                "id": "m",
                "payload": {"query": 'subscription { onServiceLogs(name: "nope") }'},
            }
        )
        message = client.receive()
        assert message["payload"]["errors"][0]["extensions"] == {
            "code": "NOT_FOUND",
            "kind": "service",
            "name": "nope",
        }
        assert client.receive() == {"id": "m", "type": "complete"}
    finally:
        client.close()


def test_bounded_service_logs_query(ticker: ServedOperator) -> None:
    wait_for(
        lambda: (
            "tick 3" in post(ticker, {"query": '{ serviceLogs(name: "ticker") }'})[2]["data"]["serviceLogs"]
        )
    )
    status, _, body = post(ticker, {"query": '{ serviceLogs(name: "ticker", limit: 9) }'})
    assert (status, body) == (200, {"data": {"serviceLogs": "tick 0\nti\n[truncated]\n"}})
