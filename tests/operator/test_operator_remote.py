"""RemotePlatform against the real operator: same results as the local Platform, errors re-typed (§2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from angee.api import (
    JobState,
    SecretRef,
    ServiceState,
    StackStatus,
    WorkspaceLeaseInfo,
    WorkspaceRef,
    to_wire,
)
from angee.errors import InvalidInput, NotFound, RuntimeFailure
from angee.platform import Platform
from angee.remote import RemotePlatform, from_wire, remote_error
from tests.operator.conftest import free_port

TOKEN = "remote-token"


def workflow(platform) -> list:
    """Status and secret writes, as a CLI session would run them."""
    return [
        platform.stack_status(),
        platform.secrets_list(),
        platform.secret_set("api_key", "first value"),
        platform.secret_set("undeclared.one", "x"),
        platform.secret_get("api_key"),
        platform.secret_get("undeclared.one"),
        platform.secret_value("api_key"),
        platform.secrets_list(),
        platform.secret_delete("undeclared.one"),
        platform.secret_delete("never-set"),
        platform.stack_status(),
    ]


def test_local_and_remote_workflows_render_identically(operator_server, stack_root: Path) -> None:
    local = [to_wire(result) for result in workflow(Platform(str(stack_root)))]
    (stack_root / ".env").unlink()
    server = operator_server(stack_root, "--token", TOKEN)
    remote_results = workflow(RemotePlatform(server.url + "/", TOKEN))
    assert [to_wire(result) for result in remote_results] == local
    assert isinstance(remote_results[0], StackStatus) and isinstance(remote_results[2], SecretRef)


def test_remote_errors_are_typed(operator_server, stack_root: Path) -> None:
    server = operator_server(stack_root, "--token", TOKEN)
    remote = RemotePlatform(server.url, TOKEN)
    with pytest.raises(NotFound) as missing:
        remote.secret_value("ghost")
    assert missing.value.kind == "secret" and missing.value.name == "ghost"
    assert str(missing.value) == 'operator returned HTTP 404: secret "ghost" has no value'
    with pytest.raises(InvalidInput) as bad:
        remote.secret_get("bad name")
    assert bad.value.field == "name"
    assert str(bad.value).startswith("operator returned HTTP 400: name: secret name must match")
    with pytest.raises(RuntimeFailure, match=r"^operator returned HTTP 401: unauthorized$"):
        RemotePlatform(server.url, "wrong").stack_status()
    (stack_root / "angee.yaml").unlink()
    with pytest.raises(NotFound) as gone:
        remote.stack_status()
    assert gone.value.kind == "stack" and str(gone.value) == "operator returned HTTP 404: stack not found"


def test_unreachable_operator() -> None:
    with pytest.raises(RuntimeFailure, match="cannot reach operator at http://127.0.0.1:"):
        RemotePlatform(f"http://127.0.0.1:{free_port()}").stack_status()


def test_remote_error_mapping_rules() -> None:
    conflict = remote_error(409, b'{"error":"x","kind":"stack-root","name":"/r","reason":"already exists"}')
    assert (type(conflict).__name__, conflict.kind, conflict.name, conflict.reason) == (
        "Conflict",
        "stack-root",
        "/r",
        "already exists",
    )
    assert str(conflict) == "operator returned HTTP 409: x"
    plain = remote_error(502, b"<html>bad gateway</html>", "Bad Gateway")
    assert (
        type(plain) is RuntimeFailure and str(plain) == "operator returned HTTP 502: <html>bad gateway</html>"
    )
    assert (
        str(remote_error(503, b"", "Service Unavailable"))
        == "operator returned HTTP 503: Service Unavailable"
    )
    job = remote_error(500, b'{"error":"job \\"x\\" failed with exit code 2","output":"boom\\n"}')
    assert type(job) is RuntimeFailure and job.output == "boom\n"
    not_implemented = remote_error(501, b'{"error":"workspaceList is not implemented yet"}')
    assert type(not_implemented) is RuntimeFailure
    assert str(not_implemented) == "operator returned HTTP 501: workspaceList is not implemented yet"
    no_detail = remote_error(404, b'{"kind":"x"}', "Not Found")
    assert type(no_detail) is RuntimeFailure  # without an error message the type is generic


def test_wire_round_trip() -> None:
    status = StackStatus(
        root="/r",
        name="demo",
        services={
            "web": ServiceState("web", "container", "running", "healthy"),
            "w": ServiceState("w", "local"),
        },
        jobs={"migrate": JobState("migrate", "local")},
        workspaces={
            "w1": WorkspaceRef(
                name="w1",
                path="/r/workspaces/w1",
                template="t",
                allocations={"web": 8001},
                lease=WorkspaceLeaseInfo(owner="o", created_at="2024-01-01T00:00:00Z"),
            )
        },
    )
    assert to_wire(from_wire(StackStatus, to_wire(status))) == to_wire(status)
    assert from_wire(StackStatus, to_wire(status)) == status
    ref = SecretRef(name="k", declared=True, has_value=False, import_="env:K")
    assert from_wire(SecretRef, to_wire(ref)) == ref
    assert from_wire(SecretRef, {"name": "k", "extra": 1}) == SecretRef(
        name="k", declared=False, has_value=False
    )


def test_token_commands_are_remote_only(operator_server, stack_root: Path, monkeypatch, capsys) -> None:
    import angee.cli.context as context
    from angee.cli.main import cli, run
    from angee.cli.token_cmd import token

    monkeypatch.setitem(cli.commands, "token", token)
    # the CLI shell builds RemotePlatform(url, token) in remote mode (until then, patch the one line)
    monkeypatch.setattr(
        context, "_remote_platform", lambda state: RemotePlatform(state.operator, state.operator_token)
    )
    monkeypatch.delenv("ANGEE_OPERATOR_URL", raising=False)

    assert run(["token", "mint", "alice"]) == 1
    assert capsys.readouterr().err.strip() == "token mint requires --operator URL"
    assert run(["token", "route", "alice", "--service", "web"]) == 1
    assert capsys.readouterr().err.strip() == "token route requires --operator URL"

    server = operator_server(stack_root, "--token", TOKEN)
    remote = ["--operator", server.url, "--operator-token", TOKEN]
    assert run([*remote, "token", "mint", "alice", "--ttl", "2h", "--scope", "read"]) == 0
    minted = capsys.readouterr().out.strip()
    assert minted.count(".") == 2
    assert server.json("GET", "/stack/status", token=minted)[0] == 200

    assert run([*remote, "--json", "token", "route", "alice", "--service", "web"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('{\n  "token": ') and '"actor": "alice"' in out and '"expires_at": ' in out

    assert run([*remote, "token", "mint", "bob", "--ttl", "30h"]) == 1
    assert capsys.readouterr().err.strip() == "operator returned HTTP 400: ttl 30h exceeds cap of 24h"
