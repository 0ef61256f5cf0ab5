"""Operator tokens (operator-and-cli §4.2, §4.3): HS256 JWTs, the signing key and its fingerprint.

Operator tokens carry ``aud: ["operator"]`` and pass the bearer gate as an actor; route tokens carry
``aud: ["svc:<service>"]`` and open only that service's log socket. Durations follow the contract's
duration strings (``90s``, ``1h30m``, ``1.5h``). ``jwt`` is imported lazily: this module stays cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from angee.errors import InvalidInput

ISSUER = "angee-operator"
OPERATOR_AUDIENCE = "operator"
ROUTE_AUDIENCE_PREFIX = "svc:"
DEFAULT_TTL = 3600.0
MAX_TTL = 24 * 3600.0
DERIVE_SALT = b"angee-operator/jwt-derive/v1"
JWT_SECRET_ENV = "ANGEE_OPERATOR_JWT_SECRET"

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PAIR = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


@dataclass
class ConnectionToken:
    """A minted token as REST returns it: ``{token, actor, expires_at}`` (expiry UTC RFC 3339)."""

    token: str
    actor: str
    expires_at: str


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says: who (``actor`` = ``sub``), for what, until when."""

    actor: str
    audience: tuple[str, ...]
    scope: tuple[str, ...] = field(default_factory=tuple)
    expires: int = 0


class TokenError(InvalidInput):
    """A bad mint request (400); like the contract says, its REST body carries only ``error``."""

    def __init__(self, message: str) -> None:
        super().__init__("", message, message=message)

    def to_wire(self) -> dict[str, Any]:
        return {"error": self.message}


def parse_duration(text: str) -> float:
    """Seconds of a duration string: optional sign, then ``<decimal><unit>`` pairs (units ns..h).

    A bare ``0`` is zero; any other bare number, ISO-8601 or junk raises ``ValueError``.
    """
    s = text.strip()
    sign = 1.0
    if s[:1] in ("+", "-"):
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f'invalid duration "{text}"')
    total = 0.0
    pos = 0
    while pos < len(s):
        match = _PAIR.match(s, pos)
        if match is None:
            raise ValueError(f'invalid duration "{text}"')
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def resolve_ttl(text: str) -> float:
    """A mint request's TTL in seconds: empty → 1 h; must parse, be positive and at most 24 h."""
    if not text or not text.strip():
        return DEFAULT_TTL
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise TokenError(f"parse ttl: {exc}") from None
    if seconds <= 0:
        raise TokenError("ttl must be positive")
    if seconds > MAX_TTL:
        raise TokenError(f"ttl {text.strip()} exceeds cap of 24h")
    return seconds


def resolve_signing_key(
    jwt_secret: str | None = None, admin_token: str | None = None, environ: Mapping[str, str] | None = None
) -> bytes:
    """The signing key, resolved once at startup (§4.2): ``--jwt-secret``, ``$ANGEE_OPERATOR_JWT_SECRET``,
    HKDF-Extract of the admin bearer, else 32 random bytes for this process only."""
    env = os.environ if environ is None else environ
    if jwt_secret:
        return jwt_secret.encode("utf-8")
    from_env = env.get(JWT_SECRET_ENV, "")
    if from_env:
        return from_env.encode("utf-8")
    if admin_token:
        return hmac.new(DERIVE_SALT, admin_token.encode("utf-8"), hashlib.sha256).digest()
    return secrets.token_bytes(32)


def key_fingerprint(key: bytes) -> str:
    """First 4 bytes of SHA-256(key) as 8 lowercase hex digits (the startup fingerprint line)."""
    return hashlib.sha256(key).hexdigest()[:8]


def rfc3339_utc(seconds: float) -> str:
    """A Unix time as UTC RFC 3339 with ``Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TokenService:
    """Mints and verifies the operator's HS256 tokens with one key (thread-safe, stateless)."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        import warnings

        from jwt.warnings import InsecureKeyLengthWarning

        # A short --jwt-secret is the operator's explicit choice; do not warn on every call.
        warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
        self._key = key
        self._clock = clock
        self.fingerprint = key_fingerprint(key)

    def mint(self, actor: str, audience: str, scope: Sequence[str] = (), ttl: str = "") -> ConnectionToken:
        """Sign a token for ``actor`` with one audience; ``scope`` only on operator tokens."""
        import jwt

        actor = (actor or "").strip()
        if not actor:
            raise TokenError("actor is required")
        seconds = resolve_ttl(ttl)
        iat = int(self._clock())
        exp = int(iat + seconds)
        claims: dict[str, Any] = {"iss": ISSUER, "sub": actor, "aud": [audience], "iat": iat, "exp": exp}
        scopes = [s for s in (scope or ()) if s]
        if scopes and audience == OPERATOR_AUDIENCE:
            claims["scope"] = scopes
        token = jwt.encode(claims, self._key, algorithm="HS256", headers={"typ": "JWT"})
        return ConnectionToken(token=token, actor=actor, expires_at=rfc3339_utc(exp))

    def mint_connection(self, actor: str, scope: Sequence[str] = (), ttl: str = "") -> ConnectionToken:
        """``mintConnectionToken``: an operator token (aud ``operator``)."""
        return self.mint(actor, OPERATOR_AUDIENCE, scope, ttl)

    def mint_route(self, actor: str, service: str, ttl: str = "") -> ConnectionToken:
        """``mintRouteToken``: a token for one service's log socket (aud ``svc:<service>``, no scope)."""
        if not (actor or "").strip():
            raise TokenError("actor is required")
        service = (service or "").strip()
        if not service:
            raise TokenError("service is required")
        return self.mint(actor, ROUTE_AUDIENCE_PREFIX + service, (), ttl)

    def verify(self, token: str, audience: str) -> TokenClaims | None:
        """The claims of a valid token for ``audience``, else ``None`` (never raises on bad input).

        HS256 only; ``iss`` exact; ``exp`` required and in the future; ``iat`` required and not in the
        future; ``audience`` in ``aud``; no leeway; an empty wanted audience fails closed.
        """
        import jwt

        if not audience or not token:
            return None
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=audience,
                issuer=ISSUER,
                leeway=0,
                options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_iat": True},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        now = self._clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float) or iat > now or exp <= now:
            return None
        actor = claims.get("sub")
        if not isinstance(actor, str) or not actor.strip():
            return None
        aud = claims.get("aud")
        audiences = tuple(aud) if isinstance(aud, list) else (aud,)
        scope = claims.get("scope") or []
        if not isinstance(scope, list) or not all(isinstance(s, str) for s in scope):
            return None
        return TokenClaims(actor=actor, audience=audiences, scope=tuple(scope), expires=int(exp))
