"""``angee job``: list jobs and run one now (operator-and-cli §6.3, manifest-and-runtime §8).

``job run`` streams the job's output live and exits 1 after the output when the job fails.
"""

from __future__ import annotations

import click

from angee.cli.context import AliasGroup, emit, get_platform, parse_kv


@click.group("job", cls=AliasGroup)
def job() -> None:
    """List and run jobs."""


@job.command("list")
@click.pass_context
def list_jobs(ctx: click.Context) -> None:
    """List jobs: name, runtime."""
    rows = get_platform(ctx).jobs_list()
    emit(ctx, rows, lambda: "\n".join(f"{j.name}\t{j.runtime}" for j in rows))


@job.command("run")
@click.argument("name")
@click.option(
    "--input", "inputs", multiple=True, metavar="K=V", help="Input reachable as ${inputs.K} (repeat)."
)
@click.pass_context
def run(ctx: click.Context, name: str, inputs: tuple[str, ...]) -> None:
    """Run a job now, streaming its output; exits 1 when it fails."""
    from angee.errors import RuntimeFailure

    values = parse_kv(inputs)
    streamed = False

    def out(line: str) -> None:
        nonlocal streamed
        streamed = True
        click.echo(line)

    try:
        text = get_platform(ctx).job_run(name, values, output=out)
    except RuntimeFailure as exc:
        if streamed:  # the output is on the screen already: report the failure line only
            raise RuntimeFailure(exc.message) from None
        raise
    if not streamed and text:  # a platform that does not stream (remote) returns it whole
        click.echo(text, nl=not text.endswith("\n"))


@job.command("logs")
@click.argument("name")
def logs(name: str) -> None:
    """Not available: a job's output is returned by job run."""
    from angee.errors import RuntimeFailure

    raise RuntimeFailure("job logs are returned by job run")
