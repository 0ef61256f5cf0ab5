"""Operator auth and request safety (operator-and-cli §4): bearer gate, Origin checks, audit lines.

Pure functions and small classes with no Flask import, so the GraphQL transports reuse them as they are:
``Authenticator.check`` is the two-tier bearer check (§4.1), ``origin_allowed`` the WebSocket Origin
allowlist (§4.4), ``cross_origin_allowed`` the CSRF rule for non-safe requests (§4.5), and the
``*_audit_line`` helpers the stderr audit format (§4.6).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from angee.operator.tokens import OPERATOR_AUDIENCE, ROUTE_AUDIENCE_PREFIX, TokenService
from angee.secrets import audit_line, quote_audit_field

BEARER_PREFIX = "Bearer "
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who a request runs as: the admin bearer (no actor), a token's actor and scope, or open mode."""

    actor: str = ""
    scope: tuple[str, ...] = field(default_factory=tuple)
    admin: bool = False


OPEN = Principal()
ADMIN = Principal(admin=True)


def bearer_token(authorization: str | None) -> str:
    """The credential of an ``Authorization`` header: trimmed, exact case-sensitive ``Bearer `` prefix,
    remainder trimmed; ``""`` when missing, another scheme or empty."""
    value = (authorization or "").strip()
    if not value.startswith(BEARER_PREFIX):
        return ""
    return value[len(BEARER_PREFIX) :].strip()


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class Authenticator:
    """The two-tier check of §4.1: the admin bearer (constant time), else an operator JWT."""

    def __init__(self, admin_token: str | None, tokens: TokenService) -> None:
        self._admin = admin_token or ""
        self._admin_digest = _digest(self._admin) if self._admin else b""
        self.tokens = tokens

    @property
    def open_mode(self) -> bool:
        """No admin bearer configured: every route and socket is unauthenticated (loopback only)."""
        return not self._admin

    def check(self, token: str) -> Principal | None:
        """Admin bearer → full access; a valid operator token → its actor and scope; else ``None``.

        Route tokens (``aud: svc:*``) never pass. In open mode any request passes as :data:`OPEN`.
        """
        if self.open_mode:
            return OPEN
        if not token:
            return None
        if hmac.compare_digest(_digest(token), self._admin_digest):
            return ADMIN
        claims = self.tokens.verify(token, OPERATOR_AUDIENCE)
        if claims is None:
            return None
        return Principal(actor=claims.actor, scope=claims.scope)

    def check_header(self, authorization: str | None) -> Principal | None:
        """:meth:`check` on an HTTP ``Authorization`` header value."""
        if self.open_mode:
            return OPEN
        return self.check(bearer_token(authorization))

    def check_route(self, token: str, service: str) -> Principal | None:
        """A service log socket credential (§3.6): a route token for ``svc:<service>`` or anything
        :meth:`check` accepts."""
        if self.open_mode:
            return OPEN
        if token and service:
            claims = self.tokens.verify(token, ROUTE_AUDIENCE_PREFIX + service)
            if claims is not None:
                return Principal(actor=claims.actor)
        return self.check(token)


def socket_credential(headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[str, str]:
    """The credential of a log socket / edge request (§3.6, §8) and where it came from.

    Order: ``token`` inside the ``X-Forwarded-Uri`` header's query, ``?token=``, ``Authorization:
    Bearer``, then the first comma-separated ``Sec-WebSocket-Protocol`` entry. Returns ``(token,
    source)`` with source ``forwarded|query|header|subprotocol`` (the subprotocol must be echoed back),
    or ``("", "")``.
    """
    from urllib.parse import parse_qs

    forwarded = headers.get("X-Forwarded-Uri") or ""
    if forwarded:
        values = parse_qs(urlsplit(forwarded).query).get("token") or []
        if values and values[0]:
            return values[0], "forwarded"
    if query.get("token"):
        return str(query.get("token")), "query"
    bearer = bearer_token(headers.get("Authorization"))
    if bearer:
        return bearer, "header"
    protocols = (headers.get("Sec-WebSocket-Protocol") or "").split(",")
    first = protocols[0].strip() if protocols else ""
    if first:
        return first, "subprotocol"
    return "", ""


def _loopback_host(host: str) -> bool:
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _normalized_origins(allowed: Iterable[str]) -> set[str]:
    return {entry.strip().lower() for entry in allowed if entry and entry.strip()}


def origin_allowed(origin: str | None, allowed: Iterable[str] = ()) -> bool:
    """The WebSocket handshake ``Origin`` allowlist (§4.4).

    No Origin → allow; unparseable or hostless → reject; a loopback hostname (``localhost``,
    ``127.0.0.0/8``, ``::1``) → allow on any scheme/port; an exact case-insensitive match with a trimmed
    ``--allowed-origin`` entry → allow; anything else → reject.
    """
    if origin is None or origin == "":
        return True
    try:
        parts = urlsplit(origin.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if not parts.scheme or not host:
        return False
    if _loopback_host(host):
        return True
    return origin.strip().lower() in _normalized_origins(allowed)


def cross_origin_allowed(
    method: str,
    headers: Mapping[str, str],
    allowed: Iterable[str] = (),
) -> bool:
    """The cross-origin (CSRF) rule for every request (§4.5); ``headers`` needs ``get`` (case-insensitive).

    Safe methods pass; an allow-listed ``Origin`` passes; with ``Sec-Fetch-Site`` only ``same-origin``
    and ``none`` pass; without it, no ``Origin`` or an Origin whose ``host[:port]`` is the request
    ``Host`` passes. Everything else is rejected (403).
    """
    if method.upper() in SAFE_METHODS:
        return True
    origin = (headers.get("Origin") or "").strip()
    if origin and origin.lower() in _normalized_origins(allowed):
        return True
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.strip() != "":
        return fetch_site.strip().lower() in ("same-origin", "none")
    if not origin:
        return True
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return False
    host = (headers.get("Host") or "").strip().lower()
    return bool(netloc) and netloc == host


def remote_address(environ: Mapping[str, Any]) -> str:
    """The peer as ``host:port`` (IPv6 bracketed) for audit lines."""
    host = str(environ.get("REMOTE_ADDR") or "")
    port = str(environ.get("REMOTE_PORT") or "")
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def secret_audit_line(op: str, name: str, remote: str, reason: str | None = None, actor: str = "") -> str:
    """``operator: secret <op>[ attempt failed] name=… remote=…[ reason=…][ actor=…]`` (§4.6)."""
    return audit_line(op, name, remote, reason=reason, actor=actor or None)


def file_audit_line(
    op: str, path: str, workspace: str, remote: str, reason: str | None = None, actor: str = ""
) -> str:
    """``operator: file <op>[ attempt failed] path=… workspace=… remote=…[ reason=…][ actor=…]`` (§4.6)."""
    head = f"operator: file {op}" if reason is None else f"operator: file {op} attempt failed"
    line = (
        f"{head} path={quote_audit_field(path)} workspace={quote_audit_field(workspace)}"
        f" remote={quote_audit_field(remote)}"
    )
    if reason is not None:
        line += f" reason={quote_audit_field(reason)}"
    if actor:
        line += f" actor={quote_audit_field(actor)}"
    return line


def emit_audit(line: str) -> None:
    """Write one audit line to stderr (flushed: operators tail it)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def auth_exempt(*methods: str) -> Callable[[F], F]:
    """Mark a Flask view as authenticating itself (WebSockets, public routes).

    With no ``methods`` every method of the view skips the bearer gate and the cross-origin check;
    with methods (``auth_exempt("GET")``) only those do. The view is then responsible for §4.1/§4.4.
    """

    def decorate(fn: F) -> F:
        fn._angee_auth_exempt = frozenset(m.upper() for m in methods)  # type: ignore[attr-defined]
        return fn

    return decorate


def is_auth_exempt(view: Any, method: str) -> bool:
    """Whether :func:`auth_exempt` marked ``view`` for ``method``."""
    exempt = getattr(view, "_angee_auth_exempt", None)
    if exempt is None:
        return False
    return not exempt or method.upper() in exempt
