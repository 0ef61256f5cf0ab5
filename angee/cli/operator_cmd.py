"""``angee operator``: serve one stack root over REST and GraphQL (operator-and-cli §5).

A click group invoked without a subcommand serves; subcommands (``operator schema``, ...) may be added
to it. ``angee-operator [flags]`` is the same command (:func:`main`). Flask and gunicorn are imported
only when serving.
"""

from __future__ import annotations

import sys

import click

from angee import __version__
from angee.cli.context import cli_state
from angee.cli.schema_cmd import schema

OPERATOR_SETTINGS = "angee.operator.settings"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"angee-operator {__version__}")
        ctx.exit(0)


@click.group("operator", invoke_without_command=True)
@click.option(
    "--root", "root", metavar="PATH", default=None, help="Stack root (default: discovered from '.')."
)
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=9000, show_default=True, help="Port to listen on (0 = 9000).")
@click.option(
    "--token",
    envvar="ANGEE_OPERATOR_TOKEN",
    default=None,
    help="Admin bearer token; required for non-loopback binds [env ANGEE_OPERATOR_TOKEN].",
)
@click.option(
    "--jwt-secret",
    envvar="ANGEE_OPERATOR_JWT_SECRET",
    default=None,
    help="Token signing secret (default: derived from --token) [env ANGEE_OPERATOR_JWT_SECRET].",
)
@click.option(
    "--allowed-origin",
    "allowed_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Browser origin (scheme://host[:port]) allowed for WebSockets and cross-origin writes; repeatable.",
)
@click.option(
    "--reap-interval",
    default="60s",
    show_default=True,
    metavar="DURATION",
    help="How often the workspace reaper and pool top-up run (60, 90s, 5m); 0 disables.",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the operator version and exit.",
)
@click.pass_context
def operator(
    ctx: click.Context,
    root: str | None,
    bind: str,
    port: int,
    token: str | None,
    jwt_secret: str | None,
    allowed_origins: tuple[str, ...],
    reap_interval: str,
) -> None:
    """Serve the stack root over REST and GraphQL (the Angee operator)."""
    settings = {
        "root": root or cli_state(ctx).root,
        "bind": (bind or "").strip() or "127.0.0.1",
        "port": port or 9000,
        "token": (token or "").strip(),
        "jwt_secret": jwt_secret or "",
        "allowed_origins": allowed_origins,
        "reap_interval": reap_interval,
    }
    ctx.meta[OPERATOR_SETTINGS] = settings
    if ctx.invoked_subcommand is not None:
        return
    code = run_operator(**settings)
    if code:
        ctx.exit(code)


def run_operator(
    root: str | None,
    bind: str,
    port: int,
    token: str,
    jwt_secret: str,
    allowed_origins: tuple[str, ...] = (),
    reap_interval: str = "60s",
) -> int:
    """Startup per §5.2: bind check, root, signing key (fingerprint on stderr), app, then serve."""
    from angee.errors import InvalidInput
    from angee.operator.server import ServeError, check_bind, serve
    from angee.operator.workers import install_pool_worker, parse_reap_interval
    from angee.root import discover_root

    try:
        check_bind(bind, token)
    except ServeError as exc:
        raise InvalidInput("bind", str(exc), message=str(exc)) from None
    interval = parse_reap_interval(reap_interval)
    resolved_root = discover_root(root)

    from angee.operator.app import create_app, operator_context

    app = create_app(
        resolved_root,
        token=token or None,
        jwt_secret=jwt_secret or None,
        allowed_origins=allowed_origins,
    )
    install_pool_worker(app, interval)
    ctx = operator_context(app)
    print(f"operator: jwt signing key fingerprint={ctx.tokens.fingerprint}", file=sys.stderr, flush=True)
    teardown = getattr(ctx.platform, "stack_down", None)
    try:
        return serve(app, host=bind, port=port, teardown=teardown if callable(teardown) else None)
    except ServeError as exc:
        from angee.errors import RuntimeFailure

        raise RuntimeFailure(str(exc)) from None


def main(argv: list[str] | None = None) -> None:
    """Console entry point ``angee-operator [flags]`` ≡ ``angee operator [flags]``."""
    from angee.cli.main import cli, run

    if "operator" not in cli.lazy_commands and "operator" not in cli.commands:  # not in the table yet
        cli.add_command(operator)
    args = sys.argv[1:] if argv is None else list(argv)
    if "--version" in args[: args.index("--")] if "--" in args else "--version" in args:
        click.echo(f"angee-operator {__version__}")
        sys.exit(0)
    sys.exit(run(["operator", *args]))


if __name__ == "__main__":
    main()


operator.add_command(schema)
