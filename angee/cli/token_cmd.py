"""``angee token mint|route``: mint operator and route tokens on a remote operator (§4.2, §6.3).

Remote only: the signing key lives in the operator, so without ``--operator URL`` these fail with
``token mint requires --operator URL``. Text output is the token alone; ``--json`` the ConnectionToken.
"""

from __future__ import annotations

import click

from angee.cli.context import cli_state, emit, get_platform


def _remote_platform(ctx: click.Context, command: str) -> object:
    from angee.errors import InvalidInput

    if not cli_state(ctx).remote:
        message = f"token {command} requires --operator URL"
        raise InvalidInput("operator", message, message=message)
    return get_platform(ctx)


@click.group("token")
def token() -> None:
    """Mint tokens on a remote operator (requires --operator URL)."""


@token.command("mint")
@click.argument("actor")
@click.option(
    "--ttl", default="", metavar="DURATION", help="Lifetime such as 30m or 2h (default 1h, max 24h)."
)
@click.option(
    "--scope", "scopes", multiple=True, metavar="S", help="Scope carried by the token (repeatable)."
)
@click.pass_context
def mint(ctx: click.Context, actor: str, ttl: str, scopes: tuple[str, ...]) -> None:
    """Mint an operator token for ACTOR (for browsers and other clients)."""
    platform = _remote_platform(ctx, "mint")
    result = platform.mint_connection_token(actor, list(scopes), ttl)  # type: ignore[attr-defined]
    emit(ctx, result, lambda: result.token)


@token.command("route")
@click.argument("actor")
@click.option("--service", required=True, metavar="S", help="The service whose log socket the token opens.")
@click.option(
    "--ttl", default="", metavar="DURATION", help="Lifetime such as 30m or 2h (default 1h, max 24h)."
)
@click.pass_context
def route(ctx: click.Context, actor: str, service: str, ttl: str) -> None:
    """Mint a route token for ACTOR that opens one service's log socket."""
    platform = _remote_platform(ctx, "route")
    result = platform.mint_route_token(actor, service, ttl)  # type: ignore[attr-defined]
    emit(ctx, result, lambda: result.token)
