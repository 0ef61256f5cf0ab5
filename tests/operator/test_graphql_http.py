"""POST /graphql on the production server (gunicorn, a child process) over a real stack root (spec §2, §3.1)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from angee.platform import Platform
from tests.operator.graphql_support import (
    RealOperator,
    SSEStream,
    WSClient,
    post,
    real_operator,
    wait_for,
    write_stack,
)

TOKEN = "admin-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def stack_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_stack(tmp_path_factory.mktemp("graphql-http") / "stack")


@pytest.fixture(scope="module")
def operator(stack_root: Path) -> Iterator[RealOperator]:
    with real_operator(stack_root, TOKEN) as running:
        yield running


def gql(
    operator: RealOperator, text: str, variables: dict | None = None, headers: dict | None = None
) -> dict:
    status, _, body = post(
        operator, {"query": text, "variables": variables}, headers={**AUTH, **(headers or {})}
    )
    assert status == 200, body
    return body


def test_stack_status_and_secrets_round_trip(operator: RealOperator, stack_root: Path) -> None:
    body = gql(
        operator,
        "{ health { status } stackStatus { root name services { name } jobs { name } workspaces { name } }"
        " secrets { name declared hasValue required generated envVar } }",
    )
    assert "errors" not in body
    assert body["data"]["health"] == {"status": "ok"}
    assert body["data"]["stackStatus"] == {
        "root": str(stack_root),
        "name": "demo",
        "services": [],
        "jobs": [],
        "workspaces": [],
    }
    secrets = body["data"]["secrets"]
    assert [s["name"] for s in secrets] == ["api_key", "db-password"]
    assert secrets[0]["envVar"] == "ANGEE_SECRET_API_KEY"
    assert secrets[0]["required"] is True


def test_secret_set_then_value_and_delete(operator: RealOperator, stack_root: Path) -> None:
    set_body = gql(
        operator,
        'mutation Set($v: String!) { secretSet(name: "api_key", value: $v) { name declared hasValue } }',
        {"v": "s3cr3t value"},
    )
    assert set_body == {"data": {"secretSet": {"name": "api_key", "declared": True, "hasValue": True}}}

    value = gql(operator, '{ secretValue(name: "api_key") { name value } }')
    assert value == {"data": {"secretValue": {"name": "api_key", "value": "s3cr3t value"}}}
    assert Platform(str(stack_root)).secret_value("api_key").value == "s3cr3t value"

    deleted = gql(operator, 'mutation { secretDelete(name: "api_key") { status name message } }')
    assert deleted == {"data": {"secretDelete": {"status": "deleted", "name": "api_key", "message": None}}}
    lines = wait_for(
        lambda: re.findall(r"operator: secret (?:set|delete) .*", operator.stderr()), what="audit"
    )
    assert any(
        re.fullmatch(r'operator: secret set name="api_key" remote="127\.0\.0\.1:\d+"', line) for line in lines
    )
    assert any(line.startswith('operator: secret delete name="api_key"') for line in lines)
    assert "s3cr3t" not in operator.stderr()


def test_operator_token_actor_reaches_the_audit_line(operator: RealOperator) -> None:
    minted = gql(
        operator, 'mutation { mintConnectionToken(actor: "ci-bot", ttl: "5m") { token actor expiresAt } }'
    )
    token = minted["data"]["mintConnectionToken"]
    assert token["actor"] == "ci-bot" and token["expiresAt"].endswith("Z")
    status, _, body = post(
        operator,
        {"query": 'mutation { secretSet(name: "plain", value: "x") { name declared } }'},
        headers={"Authorization": f"Bearer {token['token']}"},
    )
    assert (status, body) == (200, {"data": {"secretSet": {"name": "plain", "declared": False}}})
    wait_for(lambda: 'operator: secret set name="plain"' in operator.stderr(), what="audit line")
    line = next(x for x in operator.stderr().splitlines() if 'secret set name="plain"' in x)
    assert line.endswith(' actor="ci-bot"')


def test_errors_carry_code_and_typed_fields(operator: RealOperator) -> None:
    body = gql(operator, '{ health { status } secretValue(name: "missing") { value } }')
    assert body["data"] == {"health": {"status": "ok"}, "secretValue": None}
    [error] = body["errors"]
    assert error["message"] == 'secret "missing" has no value'
    assert error["path"] == ["secretValue"]
    assert error["locations"] == [{"line": 1, "column": 21}]
    assert error["extensions"] == {"code": "NOT_FOUND", "kind": "secret", "name": "missing"}

    body = gql(operator, 'mutation { secretSet(name: "bad name", value: "v") { name } }')
    assert body["data"] is None  # secretSet is non-null: its failure nulls the data
    assert body["errors"][0]["extensions"] == {
        "code": "INVALID_INPUT",
        "field": "name",
        "reason": "secret name must match ^[A-Za-z0-9._-]{1,256}$",
    }
    assert body["errors"][0]["message"] == "name: secret name must match ^[A-Za-z0-9._-]{1,256}$"

    body = gql(operator, 'mutation { secretSet(name: "ok", value: "") { name } }')
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "value"

    body = gql(operator, 'mutation { mintConnectionToken(actor: " ") { token } }')
    assert body["errors"][0]["message"] == "actor is required"
    assert body["errors"][0]["extensions"] == {"code": "INVALID_INPUT"}


def test_an_operation_the_platform_lacks_is_an_internal_error() -> None:
    """A plugin-extended or older Platform without a method answers INTERNAL, never a crash."""
    from angee.errors import NotImplementedYet
    from angee.operator.graphql.resolvers import call

    with pytest.raises(NotImplementedYet, match="^templates is not implemented yet$"):
        call(object(), "templates", "templates_list")


def test_media_type_size_decode_parse_and_validation_rules(operator: RealOperator) -> None:
    doc = "{ health { status } }"
    assert post(operator, doc, "text/plain", AUTH)[::2] == (
        415,
        {"error": "unsupported GraphQL content type"},
    )
    form = "query=%7B%20health%20%7D"
    assert post(operator, form, "application/x-www-form-urlencoded", AUTH)[0] == 415
    ok = {"data": {"health": {"status": "ok"}}}
    assert post(operator, doc, "application/graphql", AUTH)[::2] == (200, ok)
    assert post(operator, {"query": doc}, "application/json; charset=utf-8", AUTH)[::2] == (200, ok)

    huge = json.dumps({"query": doc, "variables": {"pad": "x" * (1 << 20)}})
    assert post(operator, huge, "application/json", AUTH)[::2] == (413, {"error": "request body too large"})

    status, _, body = post(operator, "{not json", "application/json", AUTH)
    assert status == 400 and body["data"] is None
    assert body["errors"][0]["message"].startswith("json body could not be decoded: ")

    status, _, body = post(operator, {"query": "{ health { status }"}, headers=AUTH)
    assert status == 422 and body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"

    status, _, body = post(operator, {"query": "{ nope }"}, headers=AUTH)
    assert status == 422 and body["data"] is None
    assert body["errors"][0]["message"] == "Cannot query field 'nope' on type 'Query'."
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    status, _, body = post(
        operator, {"query": "subscription { onGitOpsTopologyChange { name } }"}, headers=AUTH
    )
    assert (status, body) == (
        400,
        {
            "errors": [{"message": "subscriptions require text/event-stream or the WebSocket transport"}],
            "data": None,
        },
    )


def test_auth_gate_and_plain_get(operator: RealOperator) -> None:
    assert post(operator, {"query": "{ health { status } }"})[::2] == (401, {"error": "unauthorized"})
    wrong = {"Authorization": "Bearer nope"}
    assert post(operator, {"query": "{ health { status } }"}, headers=wrong)[::2] == (
        401,
        {"error": "unauthorized"},
    )

    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", operator.port, timeout=30)
    conn.request("GET", "/graphql")
    response = conn.getresponse()
    assert response.status == 400
    assert json.loads(response.read()) == {"errors": [{"message": "transport not supported"}], "data": None}
    conn.close()


def test_sse_query_frames(operator: RealOperator) -> None:
    stream = SSEStream(operator, {"query": "{ health { status } }"}, headers=AUTH)
    try:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        assert stream.frame() == [":"]
        assert stream.frame() == ["event: next", 'data: {"data":{"health":{"status":"ok"}}}']
        assert stream.frame() == ["event: complete"]
        assert stream.frame() == []
    finally:
        stream.close()


def test_sse_request_errors_are_one_next_then_complete(operator: RealOperator) -> None:
    stream = SSEStream(operator, {"query": "{ nope }"}, headers=AUTH)
    try:
        assert stream.status == 200
        kind, payload = stream.event()
        assert kind == "next" and payload["data"] is None
        assert payload["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert stream.event() == ("complete", None)
    finally:
        stream.close()


def test_websocket_on_the_production_server(operator: RealOperator) -> None:
    client = WSClient(operator)
    try:
        assert client.subprotocol == "graphql-transport-ws"
        assert client.init({"Authorization": f"Bearer {TOKEN}"}) == {"type": "connection_ack"}
        client.send({"type": "ping", "payload": {"n": 1}})
        assert client.receive() == {"type": "pong", "payload": {"n": 1}}
        client.send({"type": "subscribe", "id": "q1", "payload": {"query": "{ health { status } }"}})
        assert client.receive() == {
            "id": "q1",
            "type": "next",
            "payload": {"data": {"health": {"status": "ok"}}},
        }
        assert client.receive() == {"id": "q1", "type": "complete"}
    finally:
        client.close()


def test_websocket_bad_token_closes_4403(operator: RealOperator) -> None:
    client = WSClient(operator)
    try:
        client.send({"type": "connection_init", "payload": {"Authorization": "Bearer wrong"}})
        assert client.wait_closed()[0] == 4403
    finally:
        client.close()
    client = WSClient(operator)
    try:
        client.send({"type": "connection_init", "payload": {"authorization": TOKEN}})  # no "Bearer " prefix
        assert client.wait_closed()[0] == 4403
    finally:
        client.close()


def test_websocket_origin_allowlist(operator: RealOperator) -> None:
    from simple_websocket import ConnectionError as HandshakeRejected

    with pytest.raises(HandshakeRejected) as rejected:
        WSClient(operator, headers={"Origin": "https://evil.example"})
    assert rejected.value.status_code == 403
    client = WSClient(operator, headers={"Origin": "http://localhost:5173"})
    try:
        assert client.init({"Authorization": f"Bearer {TOKEN}"}) == {"type": "connection_ack"}
    finally:
        client.close()
