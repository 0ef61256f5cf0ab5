"""The GraphQL surface of one operator: schema, event hub, auth hooks and open WebSocket sessions.

One :class:`GraphQLSurface` per app (``app.extensions["angee.graphql"]``). It reads what it needs from
the operator context (``platform``, ``auth`` — the two-tier check —, ``allowed_origins``, ``tokens``,
``version``) and offers the operator-level operations resolvers need (token minting, MCP descriptor).
"""

from __future__ import annotations

import threading
from typing import Any

from angee.errors import NotImplementedYet
from angee.operator.graphql.execution import Prepared, ResultStream, open_stream, prepare
from angee.operator.graphql.hub import EventHub
from angee.operator.graphql.resolvers import RequestContext
from angee.operator.graphql.schema import build_schema
from angee.operator.graphql.subscriptions import declare_streams, open_source

INIT_TIMEOUT = 10.0  # graphql-transport-ws: connection_init deadline (§3.3, §4.7)
KEEPALIVE = 10.0  # SSE ping after this much silence; legacy graphql-ws ``ka`` period


class GraphQLSurface:
    """Everything the ``/graphql`` transports share for one operator context."""

    def __init__(self, ctx: Any, *, schema: Any = None, hub: EventHub | None = None) -> None:
        self.ctx = ctx
        self.platform = ctx.platform
        self.schema = schema if schema is not None else build_schema()
        self.graphql_schema = self.schema._schema
        self.hub = hub if hub is not None else EventHub()
        declare_streams(self.hub, self.platform)
        self.init_timeout = INIT_TIMEOUT
        self.keepalive = KEEPALIVE
        self.stopping: threading.Event = getattr(ctx, "stopping", None) or threading.Event()
        self._sessions: set[Any] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ auth

    @property
    def open_mode(self) -> bool:
        auth = getattr(self.ctx, "auth", None)
        return auth is None or bool(getattr(auth, "open_mode", False))

    def authenticate(self, token: str) -> Any:
        """The §4.1 check of a bearer credential: a Principal, or ``None`` when rejected."""
        from angee.operator.auth import OPEN

        auth = getattr(self.ctx, "auth", None)
        if auth is None:
            return OPEN
        return auth.check(token)

    def origin_allowed(self, origin: str | None) -> bool:
        """The WebSocket handshake Origin allowlist (§4.4)."""
        from angee.operator.auth import origin_allowed

        return origin_allowed(origin, getattr(self.ctx, "allowed_origins", ()) or ())

    # ------------------------------------------------------------------ execution

    def context(self, principal: Any = None, remote: str = "") -> RequestContext:
        """The resolver context of one request or connection."""
        return RequestContext(
            platform=self.platform,
            hub=self.hub,
            operator=self,
            actor=getattr(principal, "actor", "") or "",
            scope=list(getattr(principal, "scope", ()) or ()),
            remote=remote,
        )

    def prepare(self, payload: dict[str, Any], context: RequestContext) -> Prepared:
        """Parse, validate and bind one ``{query, variables?, operationName?}`` (RequestError if not)."""
        return prepare(
            self.graphql_schema,
            payload.get("query"),
            payload.get("variables"),
            payload.get("operationName"),
            context,
        )

    def open(self, prepared: Prepared) -> ResultStream:
        """Run a query/mutation, or open a subscription's event source."""
        return open_stream(prepared, open_source)

    # ------------------------------------------------------------------ operator-level operations

    def mint_connection_token(self, actor: str, scope: list[str], ttl: str) -> Any:
        tokens = getattr(self.ctx, "tokens", None)
        if tokens is None:
            raise NotImplementedYet("mintConnectionToken")
        return tokens.mint_connection(actor, scope, ttl)

    def mint_route_token(self, actor: str, service: str, ttl: str) -> Any:
        tokens = getattr(self.ctx, "tokens", None)
        if tokens is None:
            raise NotImplementedYet("mintRouteToken")
        return tokens.mint_route(actor, service, ttl)

    def mcp_descriptor(self) -> Any:
        from angee import __version__
        from angee.operations import mcp_descriptor

        return mcp_descriptor(getattr(self.ctx, "version", "") or __version__)

    # ------------------------------------------------------------------ lifecycle

    def register(self, session: Any) -> bool:
        """Track an open WebSocket session; False once the surface is stopping."""
        with self._lock:
            if self.stopping.is_set():
                return False
            self._sessions.add(session)
            return True

    def unregister(self, session: Any) -> None:
        with self._lock:
            self._sessions.discard(session)

    def start(self) -> None:
        """Start the hub pollers (they poll only for streams with subscribers)."""
        self.hub.start()

    def stop(self) -> None:
        """Stop the hub (every subscription completes) and close open WebSockets with 1001."""
        self.stopping.set()
        self.hub.stop()
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.shutdown()
