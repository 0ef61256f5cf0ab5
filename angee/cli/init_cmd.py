"""``angee init [path] --dev``, ``angee init stack <ANGEE_ROOT> -t T`` and ``angee stack init <template> [path]``
(operator-and-cli §6.3, "Template prompting"; templates-workspaces-git §7.1).

Init skips root discovery: the root is ``--root`` (or ``$ANGEE_ROOT``, else the cwd). Without ``--yes``
each question input of the stack template that is not generated and not given is prompted for on
stderr. ``stack_init_command`` is the ``init`` command the ``stack`` group attaches.
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING, Any

import click

from angee.cli.context import cli_state, emit, get_platform, parse_kv

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.api.templates import StackInitResult, TemplateDescriptor

BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", "1", "0"}


def _init_platform(ctx: click.Context) -> Any:
    """The platform init talks to: remote with ``--operator``, else a local one at the undiscovered root."""
    state = cli_state(ctx)
    if state.remote:
        return get_platform(ctx)
    from angee.platform import Platform
    from angee.root import start_directory

    cls: type = Platform
    if not hasattr(cls, "stack_init"):  # until TemplateOps is one of Platform's bases
        from angee.platform.templates import TemplateOps

        cls = type("Platform", (TemplateOps, Platform), {})
    return cls(os.path.abspath(start_directory(state.root)))


def descriptor_ref(template: str) -> str | None:
    """The ref whose descriptor drives prompting: ``None`` (no prompting) for absolute or ``..`` refs,
    ``stacks/<name>`` for bare names, the ref itself otherwise."""
    from angee.templates.resolve import is_remote_ref

    if is_remote_ref(template):
        return template
    if os.path.isabs(template) or ".." in template:
        return None
    return template if "/" in template else f"stacks/{template}"


def _error(message: str, field: str) -> Exception:
    from angee.errors import InvalidInput

    return InvalidInput(field, message, message=message)


def prompt_inputs(
    descriptor: TemplateDescriptor, given: dict[str, str], stdin: IO[str], stderr: IO[str]
) -> dict[str, str]:
    """Ask for every question input that is not generated and not given: ``name [default]: `` on stderr,
    one stdin line each; blank → default; blank and required → error; EOF → error; int/bool checked."""
    answers = dict(given)
    for item in descriptor.inputs:
        if not item.question or item.generated or item.name in answers:
            continue
        key = item.name
        stderr.write(f"{key} [{item.default}]: " if item.default else f"{key}: ")
        stderr.flush()
        line = stdin.readline()
        if line == "":
            stderr.write("\n")
            raise _error(
                f"template input {key} requires interactive input; use --yes to accept defaults or --input {key}=value",
                key,
            )
        value = line.rstrip("\r\n")
        if not value.strip():
            if item.default:
                continue
            if item.required:
                raise _error(f"template input {key} is required; pass --input {key}=value", key)
            continue
        kind = (item.type or "").lower()
        if kind in ("int", "integer"):
            try:
                int(value.strip())
            except ValueError:
                raise _error(f'template input {key}: "{value}" is not an integer', key) from None
        elif kind in ("bool", "boolean") and value.strip().lower() not in BOOL_WORDS:
            raise _error(f'template input {key}: "{value}" is not a boolean (want true or false)', key)
        answers[key] = value
    return answers


def _shown(path: str) -> str:
    """``path`` relative to the cwd when it is inside it, else as is."""
    try:
        cwd = os.getcwd()
    except OSError:
        return path
    if path == cwd:
        return "."
    if path.startswith(cwd.rstrip(os.sep) + os.sep):
        return os.path.relpath(path, cwd)
    return path


def run_init(
    ctx: click.Context, template: str, path: str | None, inputs: dict[str, str], yes: bool, force: bool
) -> None:
    """Prompt (unless ``--yes``), call ``stack_init`` once, print the result or the stack-root conflict."""
    from angee.errors import Conflict

    platform = _init_platform(ctx)
    if not yes:
        ref = descriptor_ref(template)
        if ref is not None:
            inputs = prompt_inputs(platform.template_get(ref), inputs, sys.stdin, sys.stderr)
    try:
        result: StackInitResult = platform.stack_init(template, path, inputs, force)
    except Conflict as err:
        if err.kind != "stack-root":
            raise
        message = (
            f"stack template {template} already exists as {_shown(err.name)}; "
            "use --force to overwrite or `angee stack update` to update"
        )
        raise Conflict(err.kind, err.name, err.reason, message=message) from None
    emit(ctx, result, f"stack template {template} initialized as {_shown(result.root)}")


_input_option = click.option(
    "--input", "inputs", multiple=True, metavar="K=V", help="Template input (repeatable; last wins)."
)
_yes_option = click.option("--yes", "-y", is_flag=True, help="Accept defaults; never prompt.")
_force_option = click.option("--force", is_flag=True, help="Overwrite a non-empty stack root.")


@click.command("init")
@click.argument("args", nargs=-1, metavar="[PATH] | stack ANGEE_ROOT")
@click.option("--dev", is_flag=True, help="Use the dev stack template (stacks/dev).")
@click.option("--template", "-t", "template", metavar="T", help="Stack template (with `init stack`).")
@_input_option
@_yes_option
@_force_option
@click.pass_context
def init(
    ctx: click.Context,
    args: tuple[str, ...],
    dev: bool,
    template: str | None,
    inputs: tuple[str, ...],
    yes: bool,
    force: bool,
) -> None:
    """Initialise a stack: `init [PATH] --dev`, or `init stack ANGEE_ROOT -t TEMPLATE`."""
    values = parse_kv(inputs)
    if args and args[0] == "stack":
        if len(args) < 2:
            raise click.UsageError("Missing argument 'ANGEE_ROOT'.", ctx)
        if len(args) > 2:
            raise click.UsageError(f"Got unexpected extra argument ({args[2]})", ctx)
        if not template:
            raise click.UsageError("Missing option '--template' / '-t'.", ctx)
        values.setdefault("ANGEE_ROOT", ".")
        run_init(ctx, template, args[1], values, yes, force)
        return
    if len(args) > 1:
        raise click.UsageError(f"Got unexpected extra argument ({args[1]})", ctx)
    if template:
        raise click.UsageError(
            "--template only applies to `init stack`; use `angee stack init <template>`", ctx
        )
    if not dev:
        raise click.UsageError("init requires --dev or use stack init <template>", ctx)
    run_init(ctx, "dev", args[0] if args else None, values, yes, force)


@click.command("init")
@click.argument("template")
@click.argument("path", required=False)
@_input_option
@_yes_option
@_force_option
@click.pass_context
def stack_init_command(
    ctx: click.Context, template: str, path: str | None, inputs: tuple[str, ...], yes: bool, force: bool
) -> None:
    """Render a stack template into PATH (default: the root) as a new stack."""
    run_init(ctx, template, path, parse_kv(inputs), yes, force)
