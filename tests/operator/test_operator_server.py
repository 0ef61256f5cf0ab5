"""The real operator process (gunicorn gthread): auth gate, startup, signals, cross-origin, audit, docs."""

from __future__ import annotations

import hashlib
import hmac
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jwt

from tests.operator.conftest import REPO, free_port, spawn

TOKEN = "s3cret-admin"


def mint(server, actor: str = "ci-bot", ttl: str = "") -> str:
    status, body = server.json(
        "POST", "/tokens/mint", {"actor": actor, "scope": ["deploy"], "ttl": ttl}, token=TOKEN
    )
    assert status == 200, body
    return body["token"]


def test_token_gate_on_the_real_server(operator_server, stack_root: Path) -> None:
    server = operator_server(stack_root, "--token", TOKEN)
    assert server.json("GET", "/healthz") == (200, {"status": "ok"})
    for path in ("/stack/status", "/secrets", "/mcp", "/openapi.json", "/no/such/route"):
        assert server.json("GET", path) == (401, {"error": "unauthorized"}), path
    assert server.json("GET", "/stack/status", token="wrong")[0] == 401
    assert server.json("GET", "/stack/status", headers={"Authorization": f"bearer {TOKEN}"})[0] == 401
    status, body = server.json("GET", "/stack/status", token=TOKEN)
    assert status == 200 and body["name"] == "demo" and body["services"] == {} and body["workspaces"] == {}

    minted = mint(server)
    assert server.json("GET", "/stack/status", token=minted)[0] == 200
    # the key is derived from the bearer (HKDF-Extract), so tokens can be verified independently
    key = hmac.new(b"angee-operator/jwt-derive/v1", TOKEN.encode(), hashlib.sha256).digest()
    claims = jwt.decode(minted, key, algorithms=["HS256"], audience="operator")
    assert claims["sub"] == "ci-bot" and claims["scope"] == ["deploy"]

    now = int(time.time())
    base = {"iss": "angee-operator", "sub": "x", "aud": ["operator"], "iat": now, "exp": now + 600}
    header, payload, signature = minted.split(".")
    refused = {
        "tampered": f"{header}.{payload}.{signature[::-1]}",
        "expired": jwt.encode({**base, "iat": now - 7200, "exp": now - 3600}, key, algorithm="HS256"),
        "alg none": jwt.encode(base, None, algorithm="none"),
        "wrong audience": jwt.encode({**base, "aud": ["svc:web"]}, key, algorithm="HS256"),
    }
    for label, token in refused.items():
        assert server.json("GET", "/stack/status", token=token) == (401, {"error": "unauthorized"}), label
    route = server.json("POST", "/tokens/route", {"actor": "a", "service": "web"}, token=TOKEN)[1]["token"]
    assert server.json("GET", "/stack/status", token=route)[0] == 401  # route tokens never pass the gate

    assert server.json("POST", "/tokens/mint", {"ttl": "1h"}, token=TOKEN) == (
        400,
        {"error": "actor is required"},
    )
    assert server.json("POST", "/tokens/mint", {"actor": "a", "ttl": "48h"}, token=TOKEN) == (
        400,
        {"error": "ttl 48h exceeds cap of 24h"},
    )
    assert server.json("POST", "/tokens/route", {"actor": "a"}, token=TOKEN) == (
        400,
        {"error": "service is required"},
    )


def test_startup_lines_and_sigterm(operator_server, stack_root: Path) -> None:
    server = operator_server(stack_root, "--token", TOKEN)
    assert server.stdout.lines[0] == f"operator listening on http://127.0.0.1:{server.port}"
    key = hmac.new(b"angee-operator/jwt-derive/v1", TOKEN.encode(), hashlib.sha256).digest()
    fingerprint = hashlib.sha256(key).hexdigest()[:8]
    assert server.stderr.wait("fingerprint=") == f"operator: jwt signing key fingerprint={fingerprint}"
    assert server.stop(signal.SIGTERM) == 0
    assert "tearing down" not in server.stderr.text


def test_sigint_shuts_down_then_tears_down(operator_server, stack_root: Path) -> None:
    server = operator_server(stack_root)
    assert re.fullmatch(
        r"operator: jwt signing key fingerprint=[0-9a-f]{8}", server.stderr.wait("fingerprint")
    )
    assert server.stop(signal.SIGINT) == 0
    assert "operator: tearing down stack on SIGINT" in server.stderr.lines


def test_jwt_secret_flag_sets_the_key(operator_server, stack_root: Path) -> None:
    server = operator_server(
        stack_root, "--token", TOKEN, "--jwt-secret", "a-shared-secret-of-32-bytes-or-more"
    )
    expected = hashlib.sha256(b"a-shared-secret-of-32-bytes-or-more").hexdigest()[:8]
    assert server.stderr.wait("fingerprint=").endswith(expected)
    token = jwt.encode(
        {
            "iss": "angee-operator",
            "sub": "svc",
            "aud": ["operator"],
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
        },
        "a-shared-secret-of-32-bytes-or-more",
        algorithm="HS256",
    )
    assert server.json("GET", "/stack/status", token=token)[0] == 200


def test_non_loopback_bind_requires_a_token(stack_root: Path) -> None:
    argv = [sys.executable, "-m", "angee.cli.operator_cmd", "--root", str(stack_root), "--bind", "0.0.0.0"]
    proc = spawn([*argv, "--port", str(free_port())], stack_root)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip() == "non-loopback operator binds require --token"
    assert out == ""


def test_listen_failure_exits_1(operator_server, stack_root: Path) -> None:
    first = operator_server(stack_root)
    proc = spawn(
        [
            sys.executable,
            "-m",
            "angee.cli.operator_cmd",
            "--root",
            str(stack_root),
            "--port",
            str(first.port),
        ],
        stack_root,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and out == ""
    assert f"listen tcp 127.0.0.1:{first.port}:" in err


def test_version_flag() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "angee.cli.operator_cmd", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    assert re.fullmatch(r"angee-operator \S+\n", out)


def test_cross_origin_writes_are_rejected(operator_server, stack_root: Path) -> None:
    server = operator_server(stack_root, "--token", TOKEN, "--allowed-origin", "https://app.example.com")
    host = f"127.0.0.1:{server.port}"
    foreign = {"Origin": "https://evil.example", "Host": host, "Content-Type": "text/plain"}
    status, body = server.json("POST", "/secrets/api_key", {"value": "x"}, headers=foreign, token=TOKEN)
    assert (status, body) == (403, {"error": "cross-origin request rejected"})
    assert (
        server.json("DELETE", "/secrets/api_key", headers={"Sec-Fetch-Site": "cross-site"}, token=TOKEN)[0]
        == 403
    )
    # 401 wins over 403
    assert server.json("POST", "/secrets/api_key", {"value": "x"}, headers=foreign)[0] == 401
    # reads are never blocked; same-origin and allow-listed writes pass
    assert server.json("GET", "/secrets", headers=foreign, token=TOKEN)[0] == 200
    same = {"Origin": f"http://{host}", "Host": host}
    assert server.json("POST", "/secrets/api_key", {"value": "x"}, headers=same, token=TOKEN)[0] == 200
    allowed = {"Origin": "https://app.example.com", "Sec-Fetch-Site": "cross-site"}
    assert server.json("POST", "/secrets/api_key", {"value": "y"}, headers=allowed, token=TOKEN)[0] == 200


def test_secret_writes_are_audited(operator_server, stack_root: Path) -> None:
    server = operator_server(stack_root, "--token", TOKEN)
    assert server.json("POST", "/secrets/api_key", {"value": "hunter2"}, token=TOKEN)[0] == 200
    line = server.stderr.wait("operator: secret set name=")
    assert re.fullmatch(r'operator: secret set name="api_key" remote="127\.0\.0\.1:\d+"', line)

    assert server.json("DELETE", "/secrets/x%20y", token=TOKEN)[0] == 400
    line = server.stderr.wait("secret delete attempt failed")
    assert re.fullmatch(
        r'operator: secret delete attempt failed name="x y" remote="127\.0\.0\.1:\d+" '
        r'reason="name: secret name must match \^\[A-Za-z0-9\._-\]\{1,256\}\$"',
        line,
    )
    status, _, _ = server.request("POST", "/secrets/api_key", raw=b"{not json", token=TOKEN)
    assert status == 400
    assert 'reason="decode"' in server.stderr.wait("secret set attempt failed")

    token = mint(server, actor="deployer")
    assert server.json("DELETE", "/secrets/api_key", token=token) == (
        200,
        {"status": "deleted", "name": "api_key"},
    )
    line = server.stderr.wait("operator: secret delete name=")
    assert re.fullmatch(
        r'operator: secret delete name="api_key" remote="127\.0\.0\.1:\d+" actor="deployer"', line
    )
    assert "hunter2" not in server.stderr.text


def test_router_and_body_errors_on_the_real_server(operator_server, stack_root: Path) -> None:
    server = operator_server(stack_root, "--token", TOKEN)
    assert server.json("GET", "/nope", token=TOKEN) == (404, {"error": "not found"})
    status, headers, _ = server.request("PUT", "/stack/status", token=TOKEN)
    assert status == 405 and "GET" in headers["allow"]
    status, _, data = server.request("POST", "/secrets/api_key", raw=b"x" * ((1 << 20) + 10), token=TOKEN)
    assert status == 413 and data == b'{"error":"request body too large"}'
    (stack_root / "angee.yaml").unlink()
    assert server.json("GET", "/stack/status", token=TOKEN) == (
        404,
        {"error": "stack not found", "kind": "stack"},
    )


def test_openapi_document_lists_every_contract_route(operator_server, stack_root: Path) -> None:
    from angee import operations

    server = operator_server(stack_root, "--token", TOKEN)
    status, spec = server.json("GET", "/openapi.json", token=TOKEN)
    assert status == 200
    assert re.fullmatch(r"3\.\d+\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    paths = spec["paths"]
    for method, path, op in operations.rest_routes():
        if op.id in ("apiDocs", "apiDocsAssets"):
            continue
        documented = paths.get(operations.openapi_path(path), {})
        assert method.lower() in documented, (method, path)
        operation = documented[method.lower()]
        assert str(op.status) in operation["responses"], (method, path)
        for param in re.findall(r"\{(\w+)", path):
            assert any(
                p["name"] == param and p["in"] == "path" for p in operation.get("parameters", [])
            ) or any(p["name"] == param for p in documented.get("parameters", [])), (path, param)
    # every $ref resolves
    text = str(spec)
    for ref in set(re.findall(r"#/components/(\w+)/(\w+)", text)):
        assert ref[1] in spec["components"][ref[0]], ref
    assert spec["paths"]["/healthz"]["get"]["security"] == []


def test_swagger_ui_is_served_with_local_assets(operator_server, stack_root: Path) -> None:
    server = operator_server(stack_root)
    status, headers, page = server.request("GET", "/docs")
    assert status == 200 and headers["content-type"].startswith("text/html")
    text = page.decode()
    assert (
        '"/openapi.json"' in text and "http" not in re.sub(r"<!DOCTYPE html>", "", text).split("<script>")[0]
    )
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', text):
        assert server.request("GET", asset)[0] == 200, asset


def test_token_from_the_environment_allows_public_binds(operator_server, stack_root: Path) -> None:
    server = operator_server(stack_root, "--bind", "0.0.0.0", env={"ANGEE_OPERATOR_TOKEN": TOKEN})
    assert server.stdout.lines[0] == f"operator listening on http://0.0.0.0:{server.port}"
    assert server.json("GET", "/stack/status")[0] == 401
    assert server.json("GET", "/stack/status", token=TOKEN)[0] == 200
