"""The Files API of the Platform (spec templates-workspaces-git §9): guarded text reads and writes inside one
declared stack source.

Every path is confined to the source's on-disk root (symlinks resolved on the deepest existing prefix), files
are capped at 1 MiB of UTF-8 text, and a write can be a compare-and-set on the file's etag (hex SHA-256 of its
bytes). The check-and-write holds the root lock, so concurrent writers in other processes cannot interleave.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from angee.api.workspaces import FileContent, FileRef
from angee.errors import Conflict, InvalidInput, NotFound, RuntimeFailure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Manifest

MAX_FILE_BYTES = 1 << 20  # 1 MiB (1 048 576 bytes)
ESCAPES = "path escapes the source root"
PROTECTED_SEGMENTS = (".git",)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _escape() -> InvalidInput:
    return InvalidInput("path", ESCAPES, message=ESCAPES)


def clean_relative(path: str) -> str:
    """A request path cleaned (POSIX); absolute, empty, ``.``, NUL or ``..``-escaping → InvalidInput(path)."""
    if not isinstance(path, str) or not path or "\x00" in path or path.startswith("/"):
        raise _escape()
    cleaned = posixpath.normpath(path)
    if cleaned in (".", "..") or cleaned.startswith("../") or posixpath.isabs(cleaned):
        raise _escape()
    if any(part in PROTECTED_SEGMENTS for part in cleaned.split("/")):
        raise InvalidInput("path", "path is protected", message=f'path "{path}" is protected')
    return cleaned


def confine(base: str, path: str) -> tuple[str, str]:
    """``(cleaned, resolved)``: ``path`` under the real ``base`` with symlinks resolved; the result must be
    the base or inside it, else InvalidInput ``path escapes the source root``."""
    cleaned = clean_relative(path)
    resolved = os.path.realpath(os.path.join(base, *cleaned.split("/")))
    if resolved != base and not resolved.startswith(base.rstrip(os.sep) + os.sep):
        raise _escape()
    return cleaned, resolved


def _file_ref(source: str, path: str, resolved: str, digest: str) -> FileRef:
    st = os.stat(resolved)
    return FileRef(
        path=path,
        source=source,
        etag=digest,
        name=posixpath.basename(path),
        type="file",
        size=st.st_size,
        mode=f"{stat.S_IMODE(st.st_mode):04o}",
        modified_at=datetime.fromtimestamp(st.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        sha256=digest,
    )


class FileOps:
    """Text file access inside declared stack sources."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase

        def load(self) -> Manifest: ...

    def _source_root(self, source: str) -> str:
        """The real on-disk root of a declared source (§4)."""
        from angee.paths import source_host_path

        name = (source or "").strip()
        if not name:
            raise InvalidInput("source", "source is required")
        declared = self.load().sources.get(name)
        if declared is None:
            raise NotFound("source", name)
        base = os.path.realpath(source_host_path(self.root, name, declared))
        if not os.path.isdir(base):
            raise NotFound("source", name, message=f'source "{name}" path {base} does not exist')
        return base

    def file_read(self, source: str, path: str) -> FileContent:
        """A UTF-8 text file (≤ 1 MiB) of a source with its etag; missing or a directory → NotFound(file)."""
        base = self._source_root(source)
        cleaned, resolved = confine(base, path)
        missing = NotFound("file", cleaned, message=f'file "{cleaned}" not found in source "{source}"')
        try:
            st = os.stat(resolved)
        except (FileNotFoundError, NotADirectoryError):
            raise missing from None
        if stat.S_ISDIR(st.st_mode):
            raise missing
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput("path", "not a regular file", message=f'"{cleaned}" is not a regular file')
        if st.st_size > MAX_FILE_BYTES:
            raise InvalidInput("path", "exceeds 1 MiB cap", message=f'file "{cleaned}" exceeds 1 MiB cap')
        try:
            with open(resolved, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as err:
            raise RuntimeFailure(
                f'cannot read file "{cleaned}" of source "{source}": {err.strerror}'
            ) from err
        if len(data) > MAX_FILE_BYTES:
            raise InvalidInput("path", "exceeds 1 MiB cap", message=f'file "{cleaned}" exceeds 1 MiB cap')
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                "path", "not valid UTF-8 text", message=f'file "{cleaned}" is not valid UTF-8 text'
            ) from None
        digest = _sha256(data)
        return FileContent(
            path=cleaned, source=source, content=content, etag=digest, size=len(data), sha256=digest
        )

    def file_write(
        self, source: str, path: str, content: str, etag: str = "", remote_addr: str = ""
    ) -> FileRef:
        """Write UTF-8 text (≤ 1 MiB) atomically (mode 0644, parents 0755). A non-empty ``etag`` must equal
        the current file's hash, else Conflict ``etag mismatch``; the check and the write hold the root lock."""
        from angee.lock import root_lock
        from angee.manifest.store import write_file_atomic

        if not isinstance(content, str):
            raise InvalidInput("content", "content must be text")
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(
                "content", "not valid UTF-8 text", message="content is not valid UTF-8 text"
            ) from None
        if len(data) > MAX_FILE_BYTES:
            raise InvalidInput("content", "exceeds 1 MiB cap", message="content exceeds 1 MiB cap")
        base = self._source_root(source)
        etag = (etag or "").strip().lower()
        with root_lock(self.root):
            cleaned, resolved = confine(base, path)
            if os.path.isdir(resolved):
                raise InvalidInput("path", "not a regular file", message=f'"{cleaned}" is a directory')
            if etag:
                try:
                    with open(resolved, "rb") as fh:
                        current = _sha256(fh.read())
                except (FileNotFoundError, NotADirectoryError):
                    current = ""
                if current != etag:
                    raise Conflict(
                        "file",
                        cleaned,
                        "etag mismatch",
                        message=f'etag mismatch: file "{cleaned}" of source "{source}" has changed',
                    )
            self._make_parents(base, os.path.dirname(resolved))
            write_file_atomic(resolved, data, mode=0o644)
            os.chmod(resolved, 0o644)
        print(
            f"angee: file write source={source} path={cleaned} remote={remote_addr or 'local'}",
            file=sys.stderr,
        )
        return _file_ref(source, cleaned, resolved, _sha256(data))

    @staticmethod
    def _make_parents(base: str, directory: str) -> None:
        """Create missing parent directories (0755) below the source root."""
        missing: list[str] = []
        current = directory
        while current != base and not os.path.lexists(current):
            missing.append(current)
            current = os.path.dirname(current)
        for path in reversed(missing):
            try:
                os.mkdir(path, 0o755)
                os.chmod(path, 0o755)
            except OSError as err:
                raise RuntimeFailure(f"cannot create directory {path}: {err.strerror}") from err
