"""What every CLI command shares: the global options, the platform it talks to, and output helpers.

Commands stay thin: ``platform = get_platform(ctx)``, call one Platform method, ``emit(ctx, result,
text)``. Nothing here imports the platform (or anything heavy) at module level: the CLI must start fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.platform import Platform


class CliState:
    """The global options of one ``angee`` invocation (set by the root group) and its platform.

    ``start_dir`` and ``local_root`` are filled when a local platform is opened (for the
    ``stack not found`` hint).
    """

    def __init__(
        self, root: str | None = None, operator: str = "", operator_token: str = "", json: bool = False
    ) -> None:
        self.root = root
        self.operator = operator
        self.operator_token = operator_token
        self.json = json
        self.platform: Any = None
        self.start_dir = ""
        self.local_root = ""

    @property
    def remote(self) -> bool:
        return bool(self.operator)


def cli_state(ctx: click.Context | None = None) -> CliState:
    """The invocation's :class:`CliState`; a default one (from the environment) outside the root group."""
    ctx = ctx or click.get_current_context()
    state = ctx.find_object(CliState)
    if state is None:
        state = CliState(
            operator=os.environ.get("ANGEE_OPERATOR_URL", ""),
            operator_token=os.environ.get("ANGEE_OPERATOR_TOKEN", ""),
        )
        ctx.find_root().obj = state
    return state


def is_json(ctx: click.Context | None = None) -> bool:
    """Whether ``--json`` was given anywhere on the command line."""
    return cli_state(ctx).json


def get_platform(ctx: click.Context | None = None) -> Platform:
    """The platform the command talks to: local (discovered root) or, with ``--operator``, remote.

    Both expose the same methods; commands never need to know which one they hold.
    """
    state = cli_state(ctx)
    if state.platform is None:
        state.platform = _remote_platform(state) if state.remote else _local_platform(state)
    return state.platform


def local_platform(ctx: click.Context | None = None) -> Platform:
    """A platform on the local stack root even in remote mode (``doctor``, ``workspace open``)."""
    state = cli_state(ctx)
    if state.platform is not None and not state.remote:
        return state.platform
    platform = _local_platform(state)
    if not state.remote:
        state.platform = platform
    return platform


def _local_platform(state: CliState) -> Platform:
    from angee.errors import RuntimeFailure
    from angee.platform import Platform
    from angee.root import discover_root, start_directory

    try:
        state.start_dir = os.path.abspath(start_directory(state.root))
        state.local_root = discover_root(state.root)
    except OSError as exc:  # e.g. the current directory was deleted
        raise RuntimeFailure(f"cannot resolve the stack root: {exc.strerror or exc}") from exc
    return Platform(state.local_root)


def _remote_platform(state: CliState) -> Platform:
    """The REST client platform for ``--operator URL``: same method names, spoken over HTTP."""
    from angee.remote import RemotePlatform

    return RemotePlatform(state.operator, state.operator_token)  # type: ignore[return-value]


def stack_not_found_hint(state: CliState) -> str:
    """The second stderr line after ``stack not found`` for a local stack: where we looked, what to do."""
    if not state.local_root:
        return ""
    manifest = os.path.join(state.local_root, "angee.yaml")
    if state.local_root == state.start_dir:
        where = f"no angee.yaml in {state.start_dir} or any parent directory"
    else:
        where = f"{manifest} does not exist"
    return f"hint: {where}; pass --root PATH or run `angee init --dev`"


def emit(ctx: click.Context | None, result: Any, text: str | Callable[[], str]) -> None:
    """Print ``result`` as JSON under ``--json`` (its REST shape), else ``text`` (a str or a callable)."""
    if is_json(ctx):
        from angee.api import to_json

        click.echo(to_json(result), nl=False)
        return
    rendered = text() if callable(text) else text
    if rendered:
        click.echo(rendered, nl=not rendered.endswith("\n"))


def parse_kv(values: Iterable[str], option_name: str = "--input") -> dict[str, str]:
    """``K=V`` option values as a dict: split at the first ``=``, repeated keys → last wins.

    No ``=`` or an empty key is a usage error (exit 2): ``expected K=V, got "<v>"``.
    """
    out: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f'expected K=V, got "{value}"', param_hint=f"'{option_name}'")
        out[key] = rest
    return out


def enclosing_workspace(ctx: click.Context | None, cmd: str, name: str | None = None) -> tuple[Platform, str]:
    """The platform and workspace name for an optional-name ``workspace <cmd>`` (spec §6.1).

    With ``name`` → the normal platform and that name. Without it, walk up from the cwd to the first
    directory W whose parent is named ``workspaces`` and whose grandparent G holds ``angee.yaml``:
    the local platform at G and ``basename(W)``. Remote mode always needs the name.
    """
    from angee.errors import InvalidInput

    if name:
        return get_platform(ctx), name
    state = cli_state(ctx)
    if state.remote:
        message = f"workspace {cmd} requires a workspace name in remote operator mode"
        raise InvalidInput("name", message, message=message)
    found = find_enclosing_workspace(os.getcwd())
    if found is None:
        message = (
            f"workspace {cmd} requires a workspace name unless run from inside ANGEE_ROOT/workspaces/<name>"
        )
        raise InvalidInput("name", message, message=message)
    from angee.platform import Platform

    root, ws_name = found
    return Platform(root), ws_name


def find_enclosing_workspace(start: str) -> tuple[str, str] | None:
    """``(stack root, workspace name)`` of the workspace directory enclosing ``start``, if any."""
    current = os.path.abspath(start)
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return None
        grandparent = os.path.dirname(parent)
        if os.path.basename(parent) == "workspaces" and os.path.isfile(
            os.path.join(grandparent, "angee.yaml")
        ):
            return grandparent, os.path.basename(current)
        current = parent


class AliasGroup(click.Group):
    """A click group that also answers to hidden aliases (``ls`` → ``list``; extend ``aliases``)."""

    aliases: dict[str, str] = {"ls": "list"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        _, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else None), cmd, rest


def bool_text(value: bool) -> str:
    """Booleans in text output: ``true`` / ``false``."""
    return "true" if value else "false"
