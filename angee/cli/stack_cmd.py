"""``angee stack …``: status, init, update, the lifecycle forms, prepare, compile and destroy
(operator-and-cli §6.3), plus the hidden ``angee internal stack prepare|compile`` aliases.

``stack status|build|up|dev|down|logs`` are the very commands of the top-level shortcuts; ``init`` and
``update`` (with ``--template``) come from :mod:`angee.cli.init_cmd` and :mod:`angee.cli.stack_update_cmd`.
"""

from __future__ import annotations

import click

from angee.cli.context import cli_state, emit, get_platform
from angee.cli.init_cmd import stack_init_command
from angee.cli.runtime_cmd import build, dev, down, logs, up
from angee.cli.stack import status
from angee.cli.stack_update_cmd import update


@click.group("stack")
def stack() -> None:
    """Stack lifecycle commands."""


@click.command("prepare")
@click.pass_context
def prepare(ctx: click.Context) -> None:
    """Compile the stack and write docker-compose.yaml / process-compose.yaml."""
    result = get_platform(ctx).stack_prepare()
    emit(ctx, result, "runtime files prepared")


@click.command("compile")
@click.pass_context
def compile_(ctx: click.Context) -> None:
    """Print what prepare would write, writing nothing (local only)."""
    if cli_state(ctx).remote:
        raise click.UsageError("stack compile is local only and is not supported with --operator", ctx)
    click.echo(get_platform(ctx).stack_compile().render(), nl=False)


@stack.command("destroy")
@click.option("--purge", is_flag=True, help="Also delete workspaces/, sources/, volumes/ and run/.")
@click.pass_context
def destroy(ctx: click.Context, purge: bool) -> None:
    """Stop the stack and delete its runtime files (never angee.yaml or .env)."""
    result = get_platform(ctx).stack_destroy(purge=purge)
    emit(ctx, result, "stack destroyed")


for command in (status, stack_init_command, update, build, up, dev, down, logs, prepare, compile_):
    stack.add_command(command)


@click.group("internal", hidden=True)
def internal() -> None:
    """Hidden diagnostics kept for older scripts."""


@internal.group("stack")
def internal_stack() -> None:
    """Aliases of ``angee stack prepare|compile``."""


internal_stack.add_command(prepare)
internal_stack.add_command(compile_)
