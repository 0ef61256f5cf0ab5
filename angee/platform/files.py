"""The Files operations of the Platform: guarded access to files below one scope root.

Two scopes share one implementation of path confinement, protection and atomic writes:

- the stack root or one workspace tree (operator-and-cli §1.2 "Files"): list, stat, content, put,
  delete; text or base64 content, ``if_match`` on the file's sha256;
- one declared stack source (templates-workspaces-git §9): UTF-8 text read and write with an etag.

Every path is relative POSIX, cleaned, and must stay inside the real scope root after symlinks are
resolved. ``.git`` segments, the env-file secrets store and ``run/secrets.env`` are protected (and hidden
from listings). Reads are capped at 1 MiB; writes hold the root lock and replace files atomically.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import posixpath
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from angee.api import MutationResult
from angee.api.workspaces import FileContent, FileRef
from angee.errors import AngeeError, Conflict, InvalidInput, NotFound, RuntimeFailure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Manifest

MAX_FILE_BYTES = 1 << 20  # 1 MiB (1 048 576 bytes)
MAX_LIST_ENTRIES = 10_000
ESCAPES = "path escapes the source root"
ROOT_ESCAPES = "path escapes the root"
PROTECTED = "path is protected"
PROTECTED_SEGMENTS = (".git",)
SECRETS_ENV = os.path.join("run", "secrets.env")
READ_CAP = f"file exceeds {MAX_FILE_BYTES}-byte read cap"
ENCODINGS = ("utf-8", "base64")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _escape(path: str, reason: str = ESCAPES) -> InvalidInput:
    return InvalidInput(
        "path", reason, message=reason if reason == ESCAPES else f'path "{path}" escapes the root'
    )


def _protected(path: str) -> InvalidInput:
    return InvalidInput("path", PROTECTED, message=f'path "{path}" is protected')


def _bad_path(path: str, reason: str) -> InvalidInput:
    return InvalidInput("path", reason, message=f'path "{path}": {reason}')


def _check_segments(path: str, cleaned: str) -> str:
    if any(part in PROTECTED_SEGMENTS for part in cleaned.split("/")):
        raise _protected(path)
    return cleaned


def clean_relative(path: str) -> str:
    """A §9 request path cleaned (POSIX); absolute, empty, ``.``, NUL or ``..``-escaping → InvalidInput(path)."""
    if not isinstance(path, str) or not path or "\x00" in path or path.startswith("/"):
        raise _escape(path)
    cleaned = posixpath.normpath(path)
    if cleaned in (".", "..") or cleaned.startswith("../") or posixpath.isabs(cleaned):
        raise _escape(path)
    return _check_segments(path, cleaned)


def clean_scoped(path: str) -> str:
    """A §1.2 request path cleaned: relative POSIX, no backslash, NUL or ``..`` segment; ``""``/``.`` → ``""``
    (the scope root)."""
    if not isinstance(path, str):
        raise _bad_path(str(path), "path must be a string")
    if "\x00" in path:
        raise _bad_path(path.replace("\x00", "\\0"), "path contains a NUL byte")
    if "\\" in path:
        raise _bad_path(path, "path must use forward slashes")
    if path.startswith("/") or ".." in path.split("/"):
        raise _escape(path, ROOT_ESCAPES)
    cleaned = posixpath.normpath(path) if path else "."
    return "" if cleaned == "." else _check_segments(path, cleaned)


def _inside(base: str, resolved: str) -> bool:
    return resolved == base or resolved.startswith(base.rstrip(os.sep) + os.sep)


def _rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


def file_ref(
    path: str, st: os.stat_result, *, source: str = "", digest: str = "", target: str = ""
) -> FileRef:
    """The FileRef of one entry from its (l)stat result."""
    return FileRef(
        path=path,
        source=source,
        etag=digest if source else "",
        name=posixpath.basename(path),
        type=_kind(st.st_mode),
        size=st.st_size,
        mode=f"{stat.S_IMODE(st.st_mode):04o}",
        modified_at=_rfc3339(st.st_mtime),
        sha256=digest,
        target=target,
    )


def _write(base: str, resolved: str, data: bytes, mode: int) -> None:
    """Atomic replacement (temp file + rename) of a confined path; parents below ``base`` created 0755."""
    from angee.fsutil import write_file_atomic

    _make_parents(base, os.path.dirname(resolved))
    write_file_atomic(resolved, data, mode=mode)
    os.chmod(resolved, mode)


def _make_parents(base: str, directory: str) -> None:
    """Create missing directories (0755) between the scope root and ``directory``."""
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


@dataclass(frozen=True)
class FileScope:
    """A real scope root (stack root, workspace tree or source), its protected absolute paths and, for
    the stack root, its manifest file (writes of it are validated). ``escapes`` is the reason given
    for a path that leaves the root."""

    base: str
    protected: frozenset[str] = frozenset()
    manifest: str = ""
    escapes: str = ROOT_ESCAPES

    def is_protected(self, absolute: str) -> bool:
        return absolute in self.protected

    def locate(self, path: str, cleaned: str) -> tuple[str, str]:
        """``(entry, resolved)``: the entry itself (final symlink not followed) and its fully resolved
        target; both must be inside the root and not protected."""
        if not cleaned:
            return self.base, self.base
        parts = cleaned.split("/")
        parent = os.path.realpath(os.path.join(self.base, *parts[:-1]))
        entry = os.path.join(parent, parts[-1])
        resolved = os.path.realpath(entry)
        for candidate in (entry, resolved):
            if not _inside(self.base, candidate):
                raise _escape(path, self.escapes)
            rel = os.path.relpath(candidate, self.base)
            if self.is_protected(candidate) or any(p in PROTECTED_SEGMENTS for p in rel.split(os.sep)):
                raise _protected(path)
        return entry, resolved

    def relative(self, directory: str) -> str:
        rel = os.path.relpath(directory, self.base)
        return "" if rel == "." else rel.replace(os.sep, "/")


class FileOps:
    """File access inside the stack root, a workspace tree or a declared stack source."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase

        def load(self) -> Manifest: ...

    # ------------------------------------------------------------------ scopes

    def _file_scope(self, workspace: str = "") -> FileScope:
        """The scope of §1.2: ``<root>`` or ``<root>/workspaces/<w>`` (declared; else NotFound(workspace))."""
        workspace = (workspace or "").strip()
        manifest: Manifest | None = None
        if workspace:
            manifest = self.load()
            if workspace not in manifest.workspaces:
                raise NotFound("workspace", workspace)
        else:
            try:  # the stack root is reachable without a (valid) manifest, e.g. to repair angee.yaml
                manifest = self.load()
            except AngeeError:
                manifest = None
        root = os.path.realpath(self.root)
        protected = {os.path.join(root, SECRETS_ENV)}
        backend = manifest.secrets_backend if manifest is not None else None
        if backend is None or (backend.type or "env-file") == "env-file":
            from angee.builtin.env_file import DEFAULT_PATH

            protected.add(
                os.path.normpath(os.path.join(root, (backend.path if backend else "") or DEFAULT_PATH))
            )
        protected |= {os.path.realpath(p) for p in protected}
        if not workspace:
            return FileScope(root, frozenset(protected), os.path.join(root, "angee.yaml"))
        base = os.path.realpath(os.path.join(root, "workspaces", workspace))
        if not os.path.isdir(base):
            raise NotFound("workspace", workspace, message=f'workspace "{workspace}" has no directory {base}')
        return FileScope(base, frozenset(protected))

    def _source_scope(self, source: str) -> FileScope:
        """The scope of §9: the real on-disk root of a declared source (§4)."""
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
        return FileScope(base, escapes=ESCAPES)

    # ------------------------------------------------------------------ stack root / workspace (§1.2)

    def file_list(self, path: str = "", workspace: str = "", recursive: bool = False) -> list[FileRef]:
        """Entries of a directory (the whole tree with ``recursive``), sorted by path, protected entries
        hidden, symlinks not followed; more than 10 000 entries → InvalidInput(path)."""
        cleaned = clean_scoped(path)
        scope = self._file_scope(workspace)
        _, resolved = scope.locate(path, cleaned)
        try:
            st = os.stat(resolved)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound("file", cleaned, message=f'path "{cleaned}" not found') from None
        if not stat.S_ISDIR(st.st_mode):
            raise InvalidInput("path", "not a directory", message=f'path "{cleaned}" is not a directory')
        entries: list[FileRef] = []
        pending = [(cleaned, resolved)]
        while pending:
            rel_dir, directory = pending.pop()
            try:
                listing = list(os.scandir(directory))
            except OSError as err:
                raise RuntimeFailure(f'cannot list "{rel_dir or "."}": {err.strerror}') from err
            for item in listing:
                if item.name in PROTECTED_SEGMENTS or scope.is_protected(item.path):
                    continue
                rel = f"{rel_dir}/{item.name}" if rel_dir else item.name
                try:
                    lst = item.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished while listing
                target = os.readlink(item.path) if stat.S_ISLNK(lst.st_mode) else ""
                entries.append(file_ref(rel, lst, target=target))
                if len(entries) > MAX_LIST_ENTRIES:
                    reason = "too many entries; narrow the path"
                    raise InvalidInput("path", reason, message=f'path "{cleaned}": {reason}')
                if recursive and stat.S_ISDIR(lst.st_mode):
                    pending.append((rel, item.path))
        return sorted(entries, key=lambda ref: ref.path)

    def file_stat(self, path: str, workspace: str = "") -> FileRef:
        """One entry (a symlink is reported as such, with its target); regular files carry ``sha256``."""
        cleaned = clean_scoped(path)
        scope = self._file_scope(workspace)
        entry, _ = scope.locate(path, cleaned)
        try:
            lst = os.lstat(entry)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound("file", cleaned, message=f'file "{cleaned}" not found') from None
        digest = _file_sha256(entry) if stat.S_ISREG(lst.st_mode) else ""
        target = os.readlink(entry) if stat.S_ISLNK(lst.st_mode) else ""
        return file_ref(cleaned or ".", lst, digest=digest, target=target)

    def file_content(self, path: str, workspace: str = "") -> FileContent:
        """A regular file's bytes (≤ 1 MiB): UTF-8 text when they decode, else base64."""
        cleaned = clean_scoped(path)
        scope = self._file_scope(workspace)
        _, resolved = scope.locate(path, cleaned)
        data = _read_capped(resolved, cleaned)
        try:
            content, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            content, encoding = base64.b64encode(data).decode("ascii"), "base64"
        return FileContent(
            path=cleaned, size=len(data), sha256=_sha256(data), encoding=encoding, content=content
        )

    def file_put(
        self,
        path: str,
        content: str,
        workspace: str = "",
        encoding: str = "utf-8",
        create_dirs: bool = False,
        if_match: str = "",
    ) -> tuple[FileRef, bool]:
        """Write a file atomically; returns ``(FileRef with sha256, created)``.

        ``if_match`` = the sha256 the current file must have (else Conflict ``sha256 mismatch``); a missing
        parent is NotFound(directory) unless ``create_dirs``; the stack's ``angee.yaml`` must stay a valid
        manifest. Existing files keep their mode, new ones are 0644 (directories 0755).
        """
        from angee.lock import root_lock

        data = _decode_content(content, encoding)
        cleaned = clean_scoped(path)
        if not cleaned:
            raise InvalidInput("path", "path is required")
        expected = (if_match or "").strip().lower()
        with root_lock(self.root):
            scope = self._file_scope(workspace)
            _, resolved = scope.locate(path, cleaned)
            try:
                current = os.stat(resolved)
            except (FileNotFoundError, NotADirectoryError):
                current = None
            if current is not None and not stat.S_ISREG(current.st_mode):
                raise InvalidInput(
                    "path", "not a regular file", message=f'path "{cleaned}" is not a regular file'
                )
            if expected and (current is None or _file_sha256(resolved) != expected):
                raise Conflict("file", cleaned, "sha256 mismatch")
            parent = os.path.dirname(resolved)
            if not os.path.isdir(parent):
                if os.path.lexists(parent):
                    raise InvalidInput(
                        "path", "not a directory", message=f'parent of "{cleaned}" is not a directory'
                    )
                if not create_dirs:
                    rel = scope.relative(parent)
                    raise NotFound(
                        "directory", rel, message=f'directory "{rel}" not found (pass create_dirs)'
                    )
            if scope.manifest and resolved == scope.manifest:
                _validate_manifest_text(data)
            mode = stat.S_IMODE(current.st_mode) if current is not None else 0o644
            _write(scope.base, resolved, data, mode)
        return file_ref(cleaned, os.stat(resolved), digest=_sha256(data)), current is None

    def file_delete(self, path: str, workspace: str = "") -> MutationResult:
        """Delete a file, a symlink or an empty directory (non-empty → Conflict; the scope root → 400)."""
        from angee.lock import root_lock

        cleaned = clean_scoped(path)
        with root_lock(self.root):
            scope = self._file_scope(workspace)
            entry, _ = scope.locate(path, cleaned)
            if not cleaned or entry == scope.base:
                raise InvalidInput("path", "cannot delete the scope root")
            try:
                lst = os.lstat(entry)
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound("file", cleaned, message=f'file "{cleaned}" not found') from None
            try:
                if stat.S_ISDIR(lst.st_mode):
                    os.rmdir(entry)
                else:
                    os.unlink(entry)
            except OSError as err:
                if stat.S_ISDIR(lst.st_mode) and os.listdir(entry):
                    raise Conflict("directory", cleaned, "directory not empty") from None
                raise RuntimeFailure(f'cannot delete "{cleaned}": {err.strerror}') from err
        return MutationResult(status="deleted", name=cleaned)

    # ------------------------------------------------------------------ one declared source (§9)

    def file_read(self, source: str, path: str) -> FileContent:
        """A UTF-8 text file (≤ 1 MiB) of a source with its etag; missing or a directory → NotFound(file)."""
        scope = self._source_scope(source)
        cleaned = clean_relative(path)
        _, resolved = scope.locate(path, cleaned)
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
        scope = self._source_scope(source)
        etag = (etag or "").strip().lower()
        with root_lock(self.root):
            cleaned = clean_relative(path)
            _, resolved = scope.locate(path, cleaned)
            if os.path.isdir(resolved):
                raise InvalidInput("path", "not a regular file", message=f'"{cleaned}" is a directory')
            if etag:
                try:
                    current = _file_sha256(resolved)
                except (FileNotFoundError, NotADirectoryError):
                    current = ""
                if current != etag:
                    raise Conflict(
                        "file",
                        cleaned,
                        "etag mismatch",
                        message=f'etag mismatch: file "{cleaned}" of source "{source}" has changed',
                    )
            _write(scope.base, resolved, data, 0o644)
        print(
            f"angee: file write source={source} path={cleaned} remote={remote_addr or 'local'}",
            file=sys.stderr,
        )
        return file_ref(cleaned, os.stat(resolved), source=source, digest=_sha256(data))


def _read_capped(resolved: str, cleaned: str) -> bytes:
    """The bytes of a regular file of at most 1 MiB (checked by stat and again while reading)."""
    try:
        st = os.stat(resolved)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound("file", cleaned, message=f'file "{cleaned}" not found') from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(
            "path", "not a regular file", message=f'path "{cleaned or "."}" is not a regular file'
        )
    too_big = InvalidInput(
        "path", READ_CAP, message=f'file "{cleaned}" exceeds {MAX_FILE_BYTES}-byte read cap'
    )
    if st.st_size > MAX_FILE_BYTES:
        raise too_big
    try:
        with open(resolved, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise RuntimeFailure(f'cannot read "{cleaned}": {err.strerror}') from err
    if len(data) > MAX_FILE_BYTES:
        raise too_big
    return data


def _decode_content(content: str, encoding: str) -> bytes:
    """The bytes of a write request: UTF-8 text or base64 (strict)."""
    if not isinstance(content, str):
        raise InvalidInput("content", "content must be a string")
    encoding = (encoding or "utf-8").strip().lower()
    if encoding not in ENCODINGS:
        raise InvalidInput(
            "encoding",
            'must be "utf-8" or "base64"',
            message=f'encoding "{encoding}": must be "utf-8" or "base64"',
        )
    if encoding == "base64":
        try:
            return base64.b64decode(content.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise InvalidInput("content", "invalid base64", message="content is not valid base64") from None
    try:
        return content.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            "content", "not valid UTF-8 text", message="content is not valid UTF-8 text"
        ) from None


def _validate_manifest_text(data: bytes) -> None:
    """New ``angee.yaml`` bytes must parse and validate as a manifest (else InvalidInput(content))."""
    from angee.errors import ManifestError
    from angee.manifest.load import parse_manifest, raise_first_issue

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("content", "angee.yaml must be UTF-8 text") from None
    try:
        raise_first_issue(parse_manifest(text, "angee.yaml"), "angee.yaml")
    except ManifestError as err:
        raise InvalidInput("content", err.message) from None
