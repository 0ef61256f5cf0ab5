"""``angee file``: read and write UTF-8 text files of a declared stack source (templates-workspaces-git §9;
operator-and-cli §6.3 ``read``/``write`` forms). Thin adapters over ``file_read`` / ``file_write``."""

from __future__ import annotations

import sys

import click

from angee.cli.context import emit, get_platform


class FileGroup(click.Group):
    """The ``file`` group; ``cat`` is a hidden alias of ``read``."""

    aliases = {"cat": "read"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        _, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else None), cmd, rest


def _source_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--source", "-s", required=True, help="Declared stack source the path is relative to."
    )(func)


def _decode(data: bytes, where: str) -> str:
    from angee.errors import InvalidInput

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            "content", "not valid UTF-8 text", message=f"{where} is not valid UTF-8 text"
        ) from None


def _content(content: str | None, from_file: str | None, stdin: bool) -> str:
    """Exactly one of ``--content``, ``--file``/``--from`` or ``--stdin``."""
    given = [x for x in (content is not None, from_file is not None, stdin) if x]
    if len(given) != 1:
        raise click.UsageError("pass exactly one of --content, --file or --stdin")
    if content is not None:
        return content
    if from_file is not None:
        try:
            with open(from_file, "rb") as fh:
                return _decode(fh.read(), from_file)
        except OSError as err:
            raise click.BadParameter(
                f"cannot read {from_file}: {err.strerror}", param_hint="'--file'"
            ) from None
    return _decode(sys.stdin.buffer.read(), "stdin")


def _print_content(ctx: click.Context, result: object, output: str | None) -> None:
    text = getattr(result, "content", "")
    if output:
        with open(output, "wb") as fh:
            fh.write(text.encode("utf-8"))
        return
    emit(ctx, result, lambda: text)


def _write(ctx: click.Context, path: str, source: str, text: str, etag: str) -> None:
    ref = get_platform(ctx).file_write(source, path, text, etag=etag or "")
    emit(ctx, ref, f"file {ref.path} written ({ref.size} bytes, sha256={ref.etag})")


@click.group("file", cls=FileGroup)
def file() -> None:
    """Read and write text files inside a declared stack source (1 MiB cap, UTF-8)."""


@file.command("get")
@click.argument("path")
@_source_option
@click.pass_context
def get(ctx: click.Context, path: str, source: str) -> None:
    """Print a file's content (``--json``: with its etag)."""
    _print_content(ctx, get_platform(ctx).file_read(source, path), None)


@file.command("read")
@click.argument("path")
@_source_option
@click.option("--output", "-o", default=None, metavar="FILE", help="Write the content to FILE instead.")
@click.pass_context
def read(ctx: click.Context, path: str, source: str, output: str | None) -> None:
    """Print a file's content, or save it with --output."""
    _print_content(ctx, get_platform(ctx).file_read(source, path), output)


@file.command("set")
@click.argument("path")
@_source_option
@click.option("--content", default=None, help="The new content.")
@click.option("--file", "from_file", default=None, metavar="FILE", help="Read the new content from FILE.")
@click.option("--stdin", is_flag=True, help="Read the new content from stdin.")
@click.option("--etag", default="", help="Only write if the file still has this etag (sha256).")
@click.pass_context
def set_file(
    ctx: click.Context,
    path: str,
    source: str,
    content: str | None,
    from_file: str | None,
    stdin: bool,
    etag: str,
) -> None:
    """Write a file (atomic; parents created)."""
    _write(ctx, path, source, _content(content, from_file, stdin), etag)


@file.command("write")
@click.argument("path")
@_source_option
@click.option("--content", default=None, help="The new content.")
@click.option("--from", "from_file", default=None, metavar="FILE", help="Read the new content from FILE.")
@click.option("--stdin", is_flag=True, help="Read the new content from stdin.")
@click.option("--if-match", "etag", default="", metavar="SHA", help="Only write if the file has this sha256.")
@click.pass_context
def write(
    ctx: click.Context,
    path: str,
    source: str,
    content: str | None,
    from_file: str | None,
    stdin: bool,
    etag: str,
) -> None:
    """Write a file (atomic; parents created)."""
    _write(ctx, path, source, _content(content, from_file, stdin), etag)
