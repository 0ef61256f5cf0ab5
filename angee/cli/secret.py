"""``angee secret``: list, get, reveal, set and delete secrets (operator-and-cli §6.3, text rows §6.4).

Thin adapter: each command calls one Platform method and renders its result; values are printed only
by ``reveal``.
"""

from __future__ import annotations

from typing import Any

import click

from angee.cli.context import AliasGroup, bool_text, emit, get_platform


def _ref_rows(ref: Any) -> str:
    """``secret get`` rows: name, declared, has_value, env_var, then required/generated if true, import."""
    rows = [
        f"name\t{ref.name}",
        f"declared\t{bool_text(ref.declared)}",
        f"has_value\t{bool_text(ref.has_value)}",
        f"env_var\t{ref.env_var}",
    ]
    if ref.required:
        rows.append("required\ttrue")
    if ref.generated:
        rows.append("generated\ttrue")
    if ref.import_:
        rows.append(f"import\t{ref.import_}")
    return "\n".join(rows)


@click.group("secret", cls=AliasGroup)
def secret() -> None:
    """Manage stack secrets (values live in the secrets backend, never in angee.yaml)."""


@secret.command("list")
@click.pass_context
def secret_list(ctx: click.Context) -> None:
    """List declared secrets: name, whether a value is set, env var."""
    refs = get_platform(ctx).secrets_list()
    emit(
        ctx, refs, lambda: "\n".join(f"{r.name}\t{'set' if r.has_value else '-'}\t{r.env_var}" for r in refs)
    )


@secret.command("get")
@click.argument("name")
@click.pass_context
def secret_get(ctx: click.Context, name: str) -> None:
    """Show a secret's metadata (never its value)."""
    ref = get_platform(ctx).secret_get(name)
    emit(ctx, ref, lambda: _ref_rows(ref))


@secret.command("reveal")
@click.argument("name")
@click.pass_context
def secret_reveal(ctx: click.Context, name: str) -> None:
    """Print a secret's value."""
    result = get_platform(ctx).secret_value(name)
    emit(ctx, result, lambda: result.value + "\n")  # exactly value + LF, even when it ends in a newline


@secret.command("set")
@click.argument("name")
@click.option(
    "--value", "value", default=None, help="The value (visible in the process list; prefer --stdin)."
)
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read the value from stdin (trailing newlines stripped)."
)
@click.pass_context
def secret_set(ctx: click.Context, name: str, value: str | None, from_stdin: bool) -> None:
    """Store a secret value in the backend."""
    from angee.errors import InvalidInput

    if from_stdin:
        value = click.get_text_stream("stdin").read().rstrip("\n")
    if not value:
        message = "value is empty; pass --value or --stdin"
        raise InvalidInput("value", message, message=message)
    ref = get_platform(ctx).secret_set(name, value)
    emit(ctx, ref, lambda: f"secret {ref.name} set (declared={bool_text(ref.declared)} env={ref.env_var})")


@secret.command("delete")
@click.argument("name")
@click.pass_context
def secret_delete(ctx: click.Context, name: str) -> None:
    """Remove a secret's value from the backend (the declaration stays)."""
    result = get_platform(ctx).secret_delete(name)
    emit(ctx, result, lambda: f"secret {result.name} deleted")
