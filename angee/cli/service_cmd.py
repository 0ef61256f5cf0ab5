"""``angee service``: declare, change, remove, list, run and inspect services (operator-and-cli §6.3).

Thin adapters over the Platform's service methods; text rows per §6.4. ``create`` and ``update`` come
from :mod:`angee.cli.service_template_cmd` (they add the ``--template`` forms).
"""

from __future__ import annotations

from typing import Any

import click

from angee.cli.context import AliasGroup, emit, get_platform, parse_kv
from angee.cli.runtime_cmd import control, print_lines, restart, start, stop


def field_options(func: Any) -> Any:
    """The service field flags shared by ``init`` and ``update``."""
    options = [
        click.option("--runtime", type=click.Choice(["container", "local"]), help="Where it runs."),
        click.option("--image", help="Container image."),
        click.option("--command", "command", multiple=True, metavar="ARG", help="One argv element (repeat)."),
        click.option("--env", "env", multiple=True, metavar="K=V", help="Environment entry (repeat)."),
        click.option("--mount", "mounts", multiple=True, metavar="URI", help="Mount (repeat)."),
        click.option("--port", "ports", multiple=True, metavar="SPEC", help="Port mapping (repeat)."),
        click.option("--workdir", help="Working directory."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def init_request(name: str, values: dict[str, Any], partial: bool) -> Any:
    """A ServiceInitRequest from the flags; for an update, flags not given stay ``None`` (kept)."""
    from angee.api.runtime import ServiceInitRequest

    def listed(key: str) -> list[str] | None:
        given = list(values.get(key) or ())
        return given if given or not partial else None

    env = parse_kv(values.get("env") or (), "--env")
    return ServiceInitRequest(
        name=name,
        runtime=values.get("runtime") or "",
        image=values.get("image") or "",
        command=listed("command"),
        mounts=listed("mounts"),
        env=env if env or not partial else None,
        ports=listed("ports"),
        workdir=values.get("workdir") or "",
        start=bool(values.get("start")),
    )


@click.group("service", cls=AliasGroup)
def service() -> None:
    """Manage services."""


@service.command("init")
@click.argument("name")
@field_options
@click.option("--start", is_flag=True, help="Start it once declared.")
@click.pass_context
def init(ctx: click.Context, name: str, **values: Any) -> None:
    """Declare a service from flags (no runtime: --image ⇒ container, --command ⇒ local)."""
    result = get_platform(ctx).service_init(init_request(name, values, partial=False))
    emit(ctx, result, f"service {result.name} added")


@service.command("destroy")
@click.argument("name")
@click.option("--stop/--no-stop", default=True, help="Stop it first (default).")
@click.pass_context
def destroy(ctx: click.Context, name: str, stop: bool) -> None:
    """Remove a service, its port leases and build context."""
    result = get_platform(ctx).service_destroy(name, stop=stop)
    emit(ctx, result, f"service {result.name} removed")


@service.command("list")
@click.pass_context
def list_services(ctx: click.Context) -> None:
    """List services: name, runtime, status."""
    rows = get_platform(ctx).services_list()
    emit(ctx, rows, lambda: "\n".join(f"{s.name}\t{s.runtime}\t{s.status}" for s in rows))


@service.command("up")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def service_up(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Create and start services (idempotent)."""
    control(ctx, "up", names, "services brought up")


# ``service start|stop|restart`` are the top-level commands themselves (one definition each).
for _command in (start, stop, restart):
    service.add_command(_command)


@service.command("logs")
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep streaming new lines until Ctrl-C.")
@click.option("--tail", "-n", type=click.IntRange(min=0), default=0, help="Only the last N lines.")
@click.pass_context
def logs(ctx: click.Context, name: str, follow: bool, tail: int) -> None:
    """Show one service's logs."""
    print_lines(get_platform(ctx).service_logs(name, follow=follow, tail=tail))


@service.command("endpoint")
@click.argument("name")
@click.pass_context
def endpoint(ctx: click.Context, name: str) -> None:
    """How a service is reached: routed URL, or internal host and port."""
    result = get_platform(ctx).service_endpoint(name)
    emit(
        ctx,
        result,
        lambda: (
            f"routed\t{'true' if result.routed else 'false'}\nurl\t{result.url}\n"
            f"internal_host\t{result.internal_host}\ninternal_port\t{result.internal_port}"
        ),
    )


# ``create`` and ``update`` (field flags, or ``--template``) live with the service templates; imported
# last because that module builds its ``update`` from :func:`field_options` above.
from angee.cli.service_template_cmd import create, update  # noqa: E402

service.add_command(create)
service.add_command(update)
