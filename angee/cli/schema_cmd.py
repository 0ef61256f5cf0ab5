"""``angee operator schema``: print the GraphQL SDL the operator serves (contract + plugin fields)."""

from __future__ import annotations

import click


@click.command("schema")
def schema() -> None:
    """Print the GraphQL schema (SDL) the operator serves."""
    from angee.operator.graphql.schema import served_sdl

    click.echo(served_sdl(), nl=False)
