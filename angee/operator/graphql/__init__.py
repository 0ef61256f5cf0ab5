"""The operator's GraphQL surface (spec operator-and-cli §3): schema, resolvers, event hub, transports.

The app factory calls :func:`install` once; it mounts ``/graphql`` (POST: queries, mutations, SSE;
GET: WebSocket) and returns the :class:`~angee.operator.graphql.surface.GraphQLSurface`, whose
``start()``/``stop()`` the server calls at startup and graceful shutdown (stop completes every
subscription and closes WebSockets with 1001). Import-cheap: strawberry loads inside ``install``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from angee.operator.graphql.surface import GraphQLSurface


def install(app: Flask, ctx: Any) -> GraphQLSurface:
    """Mount ``/graphql`` on ``app`` for the operator context ``ctx`` (needs ``ctx.platform``; uses
    ``ctx.auth``, ``ctx.allowed_origins``, ``ctx.tokens`` and ``ctx.version`` when present)."""
    from angee.operator.graphql.surface import GraphQLSurface
    from angee.operator.graphql.transport_http import install_routes

    surface = GraphQLSurface(ctx)
    install_routes(app, surface)
    return surface


def surface_of(app: Flask) -> GraphQLSurface:
    """The surface :func:`install` mounted on ``app``."""
    from angee.operator.graphql.transport_http import EXTENSION_KEY

    return app.extensions[EXTENSION_KEY]


__all__ = ["install", "surface_of"]
