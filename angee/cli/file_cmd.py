"""``angee file``: files under the stack root or a workspace tree (operator-and-cli §6.3), and UTF-8 text
files of a declared stack source (templates-workspaces-git §9: ``get``/``set``, or ``read``/``write``
with ``--source``). Thin adapters over the Platform's Files operations; local mode applies the same path
rules as the operator."""

from __future__ import annotations

import base64
import sys
from typing import Any

import click

from angee.cli.context import AliasGroup, emit, get_platform


class FileGroup(AliasGroup):
    """The ``file`` group with its aliases."""

    aliases = {"ls": "list", "cat": "read", "rm": "delete"}


def _workspace_option(func: Any) -> Any:
    return click.option(
        "--workspace",
        "-w",
        default="",
        metavar="NAME",
        help="Scope: this workspace's tree (default: stack root).",
    )(func)


def _source_option(required: bool) -> Any:
    if required:
        return click.option(
            "--source", "-s", required=True, help="Declared stack source the path is relative to."
        )
    return click.option(
        "--source", "-s", default=None, help="Declared stack source (the UTF-8 text form of templates §9)."
    )


def _source_platform(ctx: click.Context) -> Any:
    """The platform for the source-scoped form, which the operator does not serve (local only)."""
    from angee.cli.context import cli_state
    from angee.errors import InvalidInput

    if cli_state(ctx).remote:
        message = "file --source is local only and not supported with --operator"
        raise InvalidInput("source", message, message=message)
    return get_platform(ctx)


def _decode(data: bytes, where: str) -> str:
    from angee.errors import InvalidInput

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            "content", "not valid UTF-8 text", message=f"{where} is not valid UTF-8 text"
        ) from None


def _content_bytes(content: str | None, from_file: str | None, stdin: bool, file_flag: str) -> bytes:
    """Exactly one of ``--content``, ``--from``/``--file`` or ``--stdin``, as bytes."""
    given = [x for x in (content is not None, from_file is not None, stdin) if x]
    if len(given) != 1:
        raise click.UsageError(f"pass exactly one of --content, {file_flag} or --stdin")
    if content is not None:
        return content.encode("utf-8")
    if from_file is not None:
        try:
            with open(from_file, "rb") as fh:
                return fh.read()
        except OSError as err:
            raise click.BadParameter(
                f"cannot read {from_file}: {err.strerror}", param_hint=f"'{file_flag}'"
            ) from None
    return sys.stdin.buffer.read()


def _write_bytes(data: bytes, output: str | None) -> None:
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
        return
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _print_content(ctx: click.Context, result: Any, output: str | None) -> None:
    """Raw bytes to stdout (or ``--output FILE``); FileContent under ``--json``."""
    from angee.cli.context import is_json

    if is_json(ctx) and not output:
        emit(ctx, result, "")
        return
    text = str(getattr(result, "content", "") or "")
    data = (
        base64.b64decode(text) if getattr(result, "encoding", "utf-8") == "base64" else text.encode("utf-8")
    )
    _write_bytes(data, output)


def _written(ctx: click.Context, ref: Any) -> None:
    digest = getattr(ref, "sha256", "") or getattr(ref, "etag", "")
    emit(ctx, ref, f"file {ref.path} written ({ref.size} bytes, sha256={digest})")


def _put(
    ctx: click.Context,
    path: str,
    data: bytes,
    workspace: str,
    source: str | None,
    create_dirs: bool,
    if_match: str,
) -> None:
    """Write through the source-scoped form (``--source``) or the root/workspace form."""
    if source:
        ref = _source_platform(ctx).file_write(source, path, _decode(data, "content"), etag=if_match or "")
        _written(ctx, ref)
        return
    platform = get_platform(ctx)
    try:
        content, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        content, encoding = base64.b64encode(data).decode("ascii"), "base64"
    ref, _ = platform.file_put(
        path,
        content,
        workspace=workspace,
        encoding=encoding,
        create_dirs=create_dirs,
        if_match=if_match or "",
    )
    _written(ctx, ref)


@click.group("file", cls=FileGroup)
def file() -> None:
    """Files under the stack root or a workspace (and text files of a declared source)."""


@file.command("list")
@click.argument("path", required=False, default="")
@_workspace_option
@click.option("--recursive", "-r", is_flag=True, help="The whole tree below PATH.")
@click.pass_context
def list_files(ctx: click.Context, path: str, workspace: str, recursive: bool) -> None:
    """List a directory: ``type<TAB>size<TAB>path`` per entry, sorted by path."""
    refs = get_platform(ctx).file_list(path, workspace=workspace, recursive=recursive)
    emit(ctx, refs, lambda: "".join(f"{r.type}\t{r.size}\t{r.path}\n" for r in refs))


@file.command("stat")
@click.argument("path")
@_workspace_option
@click.pass_context
def stat_file(ctx: click.Context, path: str, workspace: str) -> None:
    """One entry: type, size, mode, modification time, sha256 (files) or target (symlinks)."""
    ref = get_platform(ctx).file_stat(path, workspace=workspace)

    def text() -> str:
        rows = [("path", ref.path), ("type", ref.type), ("size", str(ref.size)), ("mode", ref.mode)]
        rows += [("modified_at", ref.modified_at), ("sha256", ref.sha256), ("target", ref.target)]
        return "".join(f"{key}\t{value}\n" for key, value in rows if value)

    emit(ctx, ref, text)


@file.command("read")
@click.argument("path")
@_workspace_option
@_source_option(required=False)
@click.option("--output", "-o", default=None, metavar="FILE", help="Write the bytes to FILE instead.")
@click.pass_context
def read(ctx: click.Context, path: str, workspace: str, source: str | None, output: str | None) -> None:
    """Print a file's bytes (``--json``: FileContent), or save them with --output."""
    if source:
        result = _source_platform(ctx).file_read(source, path)
    else:
        result = get_platform(ctx).file_content(path, workspace=workspace)
    _print_content(ctx, result, output)


@file.command("write")
@click.argument("path")
@_workspace_option
@_source_option(required=False)
@click.option("--content", default=None, help="The new content.")
@click.option("--from", "from_file", default=None, metavar="FILE", help="Read the new content from FILE.")
@click.option("--stdin", is_flag=True, help="Read the new content from stdin.")
@click.option("--create-dirs", is_flag=True, help="Create missing parent directories.")
@click.option(
    "--if-match", "if_match", default="", metavar="SHA", help="Only write if the file has this sha256."
)
@click.pass_context
def write(
    ctx: click.Context,
    path: str,
    workspace: str,
    source: str | None,
    content: str | None,
    from_file: str | None,
    stdin: bool,
    create_dirs: bool,
    if_match: str,
) -> None:
    """Write a file atomically (text or binary; existing files keep their mode)."""
    data = _content_bytes(content, from_file, stdin, "--from")
    _put(ctx, path, data, workspace, source, create_dirs, if_match)


@file.command("delete")
@click.argument("path")
@_workspace_option
@click.pass_context
def delete(ctx: click.Context, path: str, workspace: str) -> None:
    """Delete a file, a symlink or an empty directory."""
    result = get_platform(ctx).file_delete(path, workspace=workspace)
    emit(ctx, result, f"file {result.name or path} deleted")


@file.command("get")
@click.argument("path")
@_source_option(required=True)
@click.pass_context
def get(ctx: click.Context, path: str, source: str) -> None:
    """Print a text file of a source (``--json``: with its etag)."""
    _print_content(ctx, _source_platform(ctx).file_read(source, path), None)


@file.command("set")
@click.argument("path")
@_source_option(required=True)
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
    """Write a text file of a source (atomic; parents created)."""
    data = _content_bytes(content, from_file, stdin, "--file")
    _put(ctx, path, data, "", source, True, etag)
