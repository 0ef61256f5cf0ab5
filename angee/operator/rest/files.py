"""File routes (new): guarded access to the stack root or one workspace tree; writes are audited."""

from __future__ import annotations

from flask import Response, request

from angee.operator.auth import emit_audit, file_audit_line, remote_address
from angee.operator.rest import (
    BodyDecodeError,
    arg,
    call,
    flag,
    principal,
    read_body,
    read_json,
    reply,
    route,
)
from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import schemas as s

bp = make_blueprint("files", "Files under the stack root or a workspace")


def _audit(op: str, path: str, workspace: str, reason: str | None = None) -> None:
    line = file_audit_line(op, path, workspace, remote_address(request.environ), reason, principal().actor)
    emit_audit(line)


def _raw_target() -> tuple[str, str]:
    """``(path, workspace)`` of an undecodable write body, best effort, for its audit line."""
    try:
        raw = read_json()
    except Exception:
        return "", ""
    if not isinstance(raw, dict):
        return "", ""
    return str(raw.get("path") or ""), str(raw.get("workspace") or "")


@route(bp, "fileList", query=s.FilesQuery())
def file_list() -> Response:
    """Entries under ``?path=`` (``recursive=true`` for the whole tree), sorted by path."""
    return reply(call("fileList", arg("path"), workspace=arg("workspace"), recursive=flag("recursive")))


@route(bp, "fileStat", query=s.FileQuery())
def file_stat() -> Response:
    """One entry, with ``sha256`` for regular files."""
    return reply(call("fileStat", arg("path"), workspace=arg("workspace")))


@route(bp, "fileRead", query=s.FileQuery())
def file_read() -> Response:
    """A file's content (UTF-8 text or base64), at most 1 MiB."""
    return reply(call("fileRead", arg("path"), workspace=arg("workspace")))


@route(bp, "fileWrite", body=s.FileWriteBody())
def file_write() -> Response:
    """Write a file atomically: 201 when created, 200 when replaced. Audited."""
    try:
        body = read_body(s.FileWriteBody())
    except Exception as exc:
        path, workspace = _raw_target()
        _audit("write", path, workspace, "decode" if isinstance(exc, BodyDecodeError) else str(exc))
        raise
    path, workspace = body.pop("path"), body.get("workspace", "")
    content = body.pop("content")
    try:
        result = call("fileWrite", path, content, **body)
    except Exception as exc:  # every failure is audited, typed or not
        _audit("write", path, workspace, str(exc))
        raise
    _audit("write", path, workspace)
    ref, created = result if isinstance(result, tuple) else (result, False)
    return reply(ref, 201 if created else 200)


@route(bp, "fileDelete", query=s.FileQuery(), response=s.MutationResult())
def file_delete() -> Response:
    """Delete a file or an empty directory. Audited."""
    path, workspace = arg("path"), arg("workspace")
    try:
        result = call("fileDelete", path, workspace=workspace)
    except Exception as exc:  # every failure is audited, typed or not
        _audit("delete", path, workspace, str(exc))
        raise
    _audit("delete", path, workspace)
    return reply(result)
