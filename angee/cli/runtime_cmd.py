"""Runtime shortcuts: ``build``, ``up``, ``dev``, ``down``, ``start``, ``stop``, ``restart``, ``logs``.

Operator-and-cli §6.3 (tree), §6.4 (text), §6.2 (exit codes). Thin adapters over the Platform's
lifecycle methods; tool output is streamed line by line. Raw streams (``up``, ``dev``, ``logs``) ignore
``--json``; other commands send tool output to stderr under ``--json`` so stdout stays one document.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import closing
from typing import Any

import click

from angee.cli.context import emit, get_platform, is_json


def tool_output(ctx: click.Context, raw: bool = False) -> Callable[[str], None]:
    """A line printer for streamed tool output: stdout, or stderr under ``--json`` unless ``raw``."""
    err = is_json(ctx) and not raw

    def out(line: str) -> None:
        click.echo(line, err=err)

    return out


def print_lines(lines: Any) -> None:
    """Copy a log line iterator (lines end in ``\\n``) to stdout as they come. Ctrl-C or SIGTERM close
    it (stopping any follower process) and exit 130."""
    from angee.platform.workers import InterruptSignals

    with InterruptSignals(), closing(lines) as stream:
        for line in stream:
            sys.stdout.write(line)
            sys.stdout.flush()


def control(ctx: click.Context, verb: str, names: tuple[str, ...], done: str) -> None:
    """Run ``service_<verb>`` per name, sequentially, stopping at the first error; then one summary."""
    platform = get_platform(ctx)
    method = getattr(platform, f"service_{verb}")
    results = [method(name) for name in names]
    emit(ctx, results, done)


@click.command("build")
@click.argument("services", nargs=-1)
@click.pass_context
def build(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Build container images (all container services, or the named ones)."""
    result = get_platform(ctx).stack_build(list(services), output=tool_output(ctx))
    emit(ctx, result, "container images built")


@click.command("up")
@click.argument("services", nargs=-1)
@click.option("--build", "build_first", is_flag=True, help="Build images before starting.")
@click.pass_context
def up(ctx: click.Context, services: tuple[str, ...], build_first: bool) -> None:
    """Start container services in the background (all, or the named ones), streaming progress."""
    get_platform(ctx).stack_up(list(services), build=build_first, output=tool_output(ctx, raw=True))
    click.echo("container services started")


@click.command("dev")
@click.option("--build", "build_first", is_flag=True, help="Build container images first.")
@click.option("--detach", "-d", is_flag=True, help="Start everything in the background and return.")
@click.pass_context
def dev(ctx: click.Context, build_first: bool, detach: bool) -> None:
    """Run container and local services together; logs stream until Ctrl-C (-d: in the background)."""
    platform = get_platform(ctx)
    if detach:
        result = platform.stack_dev(build=build_first, detach=True, output=tool_output(ctx))
        emit(ctx, result, "dev stack started in background")
        return
    platform.stack_dev(build=build_first, detach=False, output=tool_output(ctx, raw=True))


@click.command("down")
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop the stack (container and local services)."""
    result = get_platform(ctx).stack_down(output=tool_output(ctx))
    emit(ctx, result, "stack stopped")


@click.command("start")
@click.argument("services", nargs=-1, required=True)
@click.pass_context
def start(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Start services (one or more names, in order; stops at the first error)."""
    control(ctx, "start", services, "services started")


@click.command("stop")
@click.argument("services", nargs=-1, required=True)
@click.pass_context
def stop(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Stop services (one or more names, in order; stops at the first error)."""
    control(ctx, "stop", services, "services stopped")


@click.command("restart")
@click.argument("services", nargs=-1, required=True)
@click.pass_context
def restart(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Restart services (one or more names, in order; stops at the first error)."""
    control(ctx, "restart", services, "services restarted")


@click.command("logs")
@click.argument("services", nargs=-1)
@click.option("--follow", "-f", is_flag=True, help="Keep streaming new lines until Ctrl-C.")
@click.option("--tail", "-n", type=click.IntRange(min=0), default=0, help="Only the last N lines of each.")
@click.pass_context
def logs(ctx: click.Context, services: tuple[str, ...], follow: bool, tail: int) -> None:
    """Show service logs (all services, or the named ones): container output, then local."""
    print_lines(get_platform(ctx).stack_logs(list(services), follow=follow, tail=tail))
