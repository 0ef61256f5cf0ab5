"""Tokens (§4.2), the bearer check (§4.1), Origin allowlist (§4.4), cross-origin rule (§4.5), audit lines."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from angee.operator.auth import (
    ADMIN,
    OPEN,
    Authenticator,
    bearer_token,
    cross_origin_allowed,
    file_audit_line,
    origin_allowed,
    socket_credential,
)
from angee.operator.tokens import (
    TokenError,
    TokenService,
    key_fingerprint,
    parse_duration,
    resolve_signing_key,
    resolve_ttl,
)

KEY = b"k" * 32


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_of(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(header))), json.loads(
        base64.urlsafe_b64decode(pad(payload))
    )


# --------------------------------------------------------------------------- durations and keys


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("1h30m", 5400), ("1.5h", 5400), ("0", 0), ("500ms", 0.5), ("-2m", -120), ("1h0m0s", 3600)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "1d", "PT1H", "h", "1h 30m", "abc", "1h-2m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_ttl_rules() -> None:
    assert resolve_ttl("") == 3600
    assert resolve_ttl("24h") == 86400
    with pytest.raises(TokenError, match="ttl must be positive"):
        resolve_ttl("0s")
    with pytest.raises(TokenError, match="exceeds cap of 24h"):
        resolve_ttl("25h")
    with pytest.raises(TokenError, match="parse ttl"):
        resolve_ttl("soon")
    assert TokenError("ttl must be positive").to_wire() == {"error": "ttl must be positive"}


def test_signing_key_resolution_order() -> None:
    assert resolve_signing_key("s3cret", "T", {"ANGEE_OPERATOR_JWT_SECRET": "env"}) == b"s3cret"
    assert resolve_signing_key(None, "T", {"ANGEE_OPERATOR_JWT_SECRET": "env"}) == b"env"
    derived = hmac.new(b"angee-operator/jwt-derive/v1", b"T", hashlib.sha256).digest()
    assert resolve_signing_key(None, "T", {}) == derived
    first, second = resolve_signing_key(None, None, {}), resolve_signing_key(None, None, {})
    assert len(first) == 32 and first != second


def test_fingerprint_is_first_four_bytes_of_sha256() -> None:
    assert key_fingerprint(KEY) == hashlib.sha256(KEY).hexdigest()[:8]
    assert len(key_fingerprint(KEY)) == 8


# --------------------------------------------------------------------------- minting and verifying


def test_minted_operator_token_has_the_contract_claims() -> None:
    service = TokenService(KEY)
    minted = service.mint_connection("  alice ", ["read", ""], "2h")
    header, claims = claims_of(minted.token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert list(claims) == ["iss", "sub", "aud", "iat", "exp", "scope"]
    assert claims["iss"] == "angee-operator" and claims["sub"] == "alice" and claims["aud"] == ["operator"]
    assert claims["exp"] - claims["iat"] == 7200 and claims["scope"] == ["read"]
    assert minted.actor == "alice" and minted.expires_at.endswith("Z")
    verified = service.verify(minted.token, "operator")
    assert verified is not None and verified.actor == "alice" and verified.scope == ("read",)


def test_route_token_has_service_audience_and_no_scope() -> None:
    service = TokenService(KEY)
    minted = service.mint_route("bob", " web ", "")
    _, claims = claims_of(minted.token)
    assert claims["aud"] == ["svc:web"] and "scope" not in claims
    assert claims["exp"] - claims["iat"] == 3600
    assert service.verify(minted.token, "svc:web") is not None
    assert service.verify(minted.token, "operator") is None
    assert service.verify(minted.token, "svc:db") is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.mint_connection(" ", [], ""), "actor is required"),
        (lambda s: s.mint_route("a", "", ""), "service is required"),
        (lambda s: s.mint_connection("a", [], "-1h"), "ttl must be positive"),
        (lambda s: s.mint_connection("a", [], "48h"), "exceeds cap of 24h"),
    ],
)
def test_mint_errors(call, message: str) -> None:
    with pytest.raises(TokenError, match=message):
        call(TokenService(KEY))


def test_refused_tokens() -> None:
    service = TokenService(KEY)
    good = service.mint_connection("alice", [], "1h").token
    now = int(time.time())
    base = {"iss": "angee-operator", "sub": "alice", "aud": ["operator"], "iat": now, "exp": now + 600}
    header, payload, signature = good.split(".")
    tampered_payload = b64({**claims_of(good)[1], "sub": "mallory"})
    refused = {
        "tampered payload": f"{header}.{tampered_payload}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[:-2]}AA",
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(base)}.",
        "HS512": jwt.encode(base, KEY, algorithm="HS512"),
        "other key": jwt.encode(base, b"x" * 32, algorithm="HS256"),
        "expired": TokenService(KEY, clock=lambda: time.time() - 7200).mint_connection("a", [], "1h").token,
        "iat in the future": jwt.encode({**base, "iat": now + 300}, KEY, algorithm="HS256"),
        "wrong audience": jwt.encode({**base, "aud": ["svc:web"]}, KEY, algorithm="HS256"),
        "wrong issuer": jwt.encode({**base, "iss": "someone"}, KEY, algorithm="HS256"),
        "no exp": jwt.encode({k: v for k, v in base.items() if k != "exp"}, KEY, algorithm="HS256"),
        "no iat": jwt.encode({k: v for k, v in base.items() if k != "iat"}, KEY, algorithm="HS256"),
        "no sub": jwt.encode({k: v for k, v in base.items() if k != "sub"}, KEY, algorithm="HS256"),
        "blank sub": jwt.encode({**base, "sub": "  "}, KEY, algorithm="HS256"),
        "garbage": "not.a.jwt",
    }
    assert service.verify(jwt.encode(base, KEY, algorithm="HS256"), "operator") is not None
    for label, token in refused.items():
        assert service.verify(token, "operator") is None, label
    assert service.verify(good, "") is None  # an empty wanted audience fails closed


# --------------------------------------------------------------------------- the bearer gate


def test_bearer_extraction() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("  Bearer   abc  ") == "abc"
    for value in (None, "", "bearer abc", "Basic abc", "Bearer", "Bearer   ", "BEARER abc"):
        assert bearer_token(value) == ""


def test_two_tier_check() -> None:
    tokens = TokenService(KEY)
    auth = Authenticator("T", tokens)
    assert not auth.open_mode
    assert auth.check_header("Bearer T") is ADMIN
    assert auth.check_header("Bearer T2") is None
    assert auth.check_header(None) is None
    minted = tokens.mint_connection("ci-bot", ["deploy"], "")
    principal = auth.check_header(f"Bearer {minted.token}")
    assert principal is not None and principal.actor == "ci-bot" and principal.scope == ("deploy",)
    route = tokens.mint_route("ci-bot", "web", "").token
    assert auth.check(route) is None  # route tokens never pass the gate
    assert auth.check_route(route, "web") is not None
    assert auth.check_route(route, "db") is None
    assert auth.check_route("T", "web") is ADMIN


def test_open_mode_lets_everything_through() -> None:
    auth = Authenticator(None, TokenService(KEY))
    assert auth.open_mode
    assert auth.check_header(None) is OPEN and auth.check("junk") is OPEN


def test_socket_credential_order() -> None:
    headers = {
        "X-Forwarded-Uri": "/services/web/logs/stream?token=fwd",
        "Authorization": "Bearer hdr",
        "Sec-WebSocket-Protocol": "proto, other",
    }
    assert socket_credential(headers, {"token": "q"}) == ("fwd", "forwarded")
    assert socket_credential(
        {k: v for k, v in headers.items() if k != "X-Forwarded-Uri"}, {"token": "q"}
    ) == (
        "q",
        "query",
    )
    assert socket_credential({"Authorization": "Bearer hdr", "Sec-WebSocket-Protocol": "p"}, {}) == (
        "hdr",
        "header",
    )
    assert socket_credential({"Sec-WebSocket-Protocol": " proto , other"}, {}) == ("proto", "subprotocol")
    assert socket_credential({}, {}) == ("", "")


# --------------------------------------------------------------------------- Origin allowlist (WebSockets)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("", True),
        ("http://localhost:3000", True),
        ("https://LOCALHOST", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.5.6.7", True),
        ("http://[::1]:9000", True),
        ("https://app.example.com", True),  # allow-listed (case and whitespace insensitive)
        ("https://APP.example.com", True),
        ("https://app.example.com:8443", False),  # port differs from the entry
        ("https://evil.example.com", False),
        ("null", False),
        ("not a url", False),
        ("http://", False),
        ("http://localhost:notaport", False),
    ],
)
def test_websocket_origin_allowlist(origin: str | None, allowed: bool) -> None:
    assert origin_allowed(origin, [" https://app.example.com "]) is allowed


# --------------------------------------------------------------------------- cross-origin (CSRF)


@pytest.mark.parametrize(
    ("method", "headers", "allowed"),
    [
        ("GET", {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, True),
        ("HEAD", {"Origin": "https://evil.example"}, True),
        ("POST", {}, True),  # no Origin, no Sec-Fetch-Site: a non-browser client
        ("POST", {"Origin": "https://evil.example", "Host": "127.0.0.1:9000"}, False),
        ("POST", {"Origin": "http://127.0.0.1:9000", "Host": "127.0.0.1:9000"}, True),
        ("DELETE", {"Origin": "http://LOCALHOST:9000", "Host": "localhost:9000"}, True),
        ("POST", {"Origin": "http://localhost:9001", "Host": "localhost:9000"}, False),
        ("POST", {"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"}, True),
        ("POST", {"Sec-Fetch-Site": "none"}, True),
        ("POST", {"Sec-Fetch-Site": "same-site", "Host": "x"}, False),
        ("PUT", {"Sec-Fetch-Site": "cross-site"}, False),
        (
            "PATCH",
            {"Origin": "https://app.example.com", "Sec-Fetch-Site": "cross-site"},
            True,
        ),  # allow-listed
    ],
)
def test_cross_origin_rule(method: str, headers: dict[str, str], allowed: bool) -> None:
    assert cross_origin_allowed(method, headers, ["https://app.example.com"]) is allowed


def test_file_audit_line_format() -> None:
    assert file_audit_line("write", "app/config.toml", "", "10.0.0.5:40112") == (
        'operator: file write path="app/config.toml" workspace="" remote="10.0.0.5:40112"'
    )
    assert file_audit_line("delete", 'a"b\n', "w1", "h:1", reason="path: path is protected", actor="ci") == (
        'operator: file delete attempt failed path="a\\"b\\n" workspace="w1" remote="h:1"'
        ' reason="path: path is protected" actor="ci"'
    )
