"""The ``angee`` command line: the root click group, its lazy command table and the error policy.

Start-up speed matters: commands are named here as ``"module:attr"`` strings and imported only when
invoked, so ``angee --help`` imports no command module and none of their dependencies. Plugin commands
(``angee_cli_commands``) are added next to the core ones but never replace them.

Exit codes (spec operator-and-cli §6.2): 0 ok; 1 failure, the bare message on stderr; 2 usage error;
130 interrupted.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NamedTuple

import click

from angee import __version__
from angee.cli.context import CliState, cli_state, stack_not_found_hint


class LazyCommand(NamedTuple):
    """A core command imported on first use: ``target`` is ``"module:attr"``, ``help`` its one-liner."""

    target: str
    help: str
    hidden: bool = False


# The core command table. Each entry's ``help`` is what ``angee --help`` lists without importing it.
# Still to be added by their owners (same shape): ``init``, ``build``, ``up``, ``dev``, ``down``,
# ``start``, ``stop``, ``restart``, ``logs`` (angee.cli.stack), ``service``, ``job``, ``source``,
# ``workspace`` (alias ``ws`` below), ``template``, ``file``, ``gitops``, ``token``, ``operator`` and
# the hidden ``internal``.
CORE_COMMANDS: dict[str, LazyCommand] = {
    # stack
    "status": LazyCommand(
        "angee.cli.stack:status", "Show the stack: name, root and counts of services, jobs, workspaces."
    ),
    "stack": LazyCommand("angee.cli.stack_cmd:stack", "Stack lifecycle commands."),
    "build": LazyCommand("angee.cli.runtime_cmd:build", "Build container images."),
    "up": LazyCommand("angee.cli.runtime_cmd:up", "Start container services in the background."),
    "dev": LazyCommand(
        "angee.cli.runtime_cmd:dev", "Run container and local services together (-d: in the background)."
    ),
    "down": LazyCommand("angee.cli.runtime_cmd:down", "Stop the stack."),
    "start": LazyCommand("angee.cli.runtime_cmd:start", "Start services."),
    "stop": LazyCommand("angee.cli.runtime_cmd:stop", "Stop services."),
    "restart": LazyCommand("angee.cli.runtime_cmd:restart", "Restart services."),
    "logs": LazyCommand("angee.cli.runtime_cmd:logs", "Show service logs (-f to follow)."),
    "service": LazyCommand("angee.cli.service_cmd:service", "Manage services."),
    "job": LazyCommand("angee.cli.job_cmd:job", "List and run jobs."),
    "internal": LazyCommand("angee.cli.stack_cmd:internal", "Hidden diagnostics.", hidden=True),
    # secrets
    "secret": LazyCommand("angee.cli.secret:secret", "Manage stack secrets."),
    # host and installation
    "doctor": LazyCommand("angee.cli.doctor:doctor", "Check this machine, the stack root and its templates."),
    "plugins": LazyCommand("angee.cli.plugins_cmd:plugins", "List installed plugins and what they provide."),
    # workspaces and files
    "workspace": LazyCommand("angee.cli.workspace_cmd:workspace", "Manage workspaces (rendered file trees)."),
    "file": LazyCommand("angee.cli.file_cmd:file", "Read and write text files of a stack source."),
    # sources
    "source": LazyCommand("angee.cli.source_cmd:source", "Inspect and update the stack's sources."),
    # operator
    "operator": LazyCommand("angee.cli.operator_cmd:operator", "Serve the stack root over REST and GraphQL."),
    "token": LazyCommand("angee.cli.token_cmd:token", "Mint operator and route tokens on a remote operator."),
    "gitops": LazyCommand(
        "angee.cli.gitops_cmd:gitops",
        "The stack's git picture: sources, workspace slots and how they relate.",
    ),
    # templates
    "init": LazyCommand("angee.cli.init_cmd:init", "Initialise a stack (--dev, or init stack ROOT -t T)."),
    "template": LazyCommand("angee.cli.template_cmd:template", "List and inspect templates."),
}

ALIASES: dict[str, str] = {"ws": "workspace"}

# Global options: accepted anywhere on the line (hoisted in front of the subcommand before parsing).
GLOBAL_FLAGS = ("--json", "--version")
GLOBAL_VALUE_OPTIONS = ("--root", "--operator", "--operator-token")


class AngeeGroup(click.Group):
    """A click group whose commands come from a lazy table, plus the commands plugins contribute."""

    def __init__(
        self,
        *args: Any,
        lazy_commands: dict[str, LazyCommand] | None = None,
        aliases: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.aliases = dict(aliases or {})
        self._imported: dict[str, click.Command] = {}
        self._plugin_commands: dict[str, click.Command] | None = None

    def _is_core(self, name: str) -> bool:
        return name in self.commands or name in self.lazy_commands or name in self.aliases

    def _import(self, name: str) -> click.Command:
        if name not in self._imported:
            module_name, _, attr = self.lazy_commands[name].target.partition(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[name].target} is not a click command")
            self._imported[name] = command
        return self._imported[name]

    def plugin_commands(self) -> dict[str, click.Command]:
        """Commands contributed by plugins; a name taken by a core (or earlier plugin) command is reported
        on stderr and ignored. Plugin load failures stay silent here (``angee plugins`` shows them)."""
        if self._plugin_commands is None:
            self._plugin_commands = {}
            try:
                from angee.plugins import registry

                contributed = registry().cli_commands()
            except Exception:  # a broken registry must not break the core commands
                contributed = []
            owners: dict[str, str] = {}
            for plugin, command in contributed:
                if not isinstance(command, click.Command) or not command.name:
                    click.echo(
                        f"angee: plugin {plugin}: ignoring {command!r} (not a named click command)", err=True
                    )
                elif self._is_core(command.name):
                    click.echo(
                        f'angee: plugin {plugin}: command "{command.name}" conflicts with a core command; ignored',
                        err=True,
                    )
                elif command.name in self._plugin_commands:
                    click.echo(
                        f'angee: plugin {plugin}: command "{command.name}" conflicts with plugin '
                        f"{owners[command.name]}; ignored",
                        err=True,
                    )
                else:
                    self._plugin_commands[command.name] = command
                    owners[command.name] = plugin
        return self._plugin_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy_commands) | set(self.plugin_commands()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = self.aliases.get(cmd_name, cmd_name)
        if name in self.commands:
            return self.commands[name]
        if name in self.lazy_commands:
            return self._import(name)
        return self.plugin_commands().get(name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if (
            name
            and not name.startswith("-")
            and not ctx.resilient_parsing
            and self.get_command(ctx, name) is None
        ):
            from difflib import get_close_matches

            message = f"No such command '{name}'."
            matches = get_close_matches(name, self.list_commands(ctx), n=3)
            if matches:
                message += " Did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"
            raise click.UsageError(message, ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands with the table's help so ``--help`` imports no command module."""
        rows: list[tuple[str, str]] = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        for name in names:
            entry = self.lazy_commands.get(name)
            if entry is not None:
                if not entry.hidden:
                    rows.append((name, entry.help))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=AngeeGroup, lazy_commands=CORE_COMMANDS, aliases=ALIASES)
@click.option(
    "--root", metavar="PATH", help="Stack root (default: discovered from the current directory upward)."
)
@click.option(
    "--operator",
    metavar="URL",
    envvar="ANGEE_OPERATOR_URL",
    help="Run the command against a remote operator [env ANGEE_OPERATOR_URL].",
)
@click.option(
    "--operator-token",
    metavar="T",
    envvar="ANGEE_OPERATOR_TOKEN",
    help="Bearer token for the remote operator [env ANGEE_OPERATOR_TOKEN].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (REST shapes).")
@click.version_option(__version__, "--version", prog_name="angee", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context, root: str | None, operator: str | None, operator_token: str | None, as_json: bool
) -> None:
    """Angee: one angee.yaml for sources, workspaces, services and the operator API.

    Global options work anywhere on the line (angee service list --json).
    """
    state = cli_state(ctx)
    state.root = root or None
    state.operator = (operator or "").rstrip("/")
    state.operator_token = operator_token or ""
    state.json = as_json


def hoist_global_options(args: list[str]) -> list[str]:
    """Move the global options (``--root X``/``--root=X``, ``--json``, ...) in front of the subcommand.

    Scanning stops at a literal ``--``; everything after it is left untouched.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            rest.extend(args[i:])
            break
        if token in GLOBAL_FLAGS:
            front.append(token)
        elif token in GLOBAL_VALUE_OPTIONS:
            if i + 1 >= len(args):
                raise click.UsageError(f"Option '{token}' requires an argument.")
            front += [token, args[i + 1]]
            i += 1
        elif token.partition("=")[0] in GLOBAL_VALUE_OPTIONS and "=" in token:
            front.append(token)
        else:
            rest.append(token)
        i += 1
    return front + rest


def _debug() -> bool:
    return os.environ.get("ANGEE_DEBUG", "") not in ("", "0", "false")


def _report_angee_error(exc: Exception, state: CliState) -> None:
    from angee.errors import NotFound, RuntimeFailure

    if _debug():
        import traceback

        traceback.print_exc()
    output = getattr(exc, "output", "") if isinstance(exc, RuntimeFailure) else ""
    if output:
        stream = sys.stderr if state.json else sys.stdout
        stream.write(output if output.endswith("\n") else output + "\n")
        stream.flush()
    print(str(exc), file=sys.stderr)
    if isinstance(exc, NotFound) and exc.kind == "stack" and not exc.name and not state.remote:
        hint = stack_not_found_hint(state)
        if hint:
            print(hint, file=sys.stderr)


def run(argv: list[str]) -> int:
    """Run ``angee`` with ``argv`` (without the program name) and return the exit code."""
    from angee.errors import AngeeError

    state = CliState()
    try:
        args = hoist_global_options(argv)
        result = cli.main(args=args, prog_name="angee", standalone_mode=False, obj=state)
        return result if isinstance(result, int) and not isinstance(result, bool) else 0
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return 130
        click.echo("Aborted!", err=True)
        return 1
    except click.ClickException as exc:
        if isinstance(exc, click.UsageError) and exc.ctx is None:
            exc.ctx = click.Context(cli, info_name="angee")
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo(err=True)
        return 130
    except AngeeError as exc:
        _report_angee_error(exc, state)
        return 1
    except Exception as exc:  # a bug, not a user mistake: one line unless debugging
        if _debug():
            import traceback

            traceback.print_exc()
        message = str(exc).strip().splitlines()
        print(
            f"angee: internal error: {type(exc).__name__}: {message[0] if message else ''}".rstrip(),
            file=sys.stderr,
        )
        if not _debug():
            print("angee: rerun with ANGEE_DEBUG=1 to see the traceback", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``angee``): run the CLI and exit with its status."""
    sys.exit(run(sys.argv[1:] if argv is None else list(argv)))


if __name__ == "__main__":
    main()
