"""Reconciliation of a rendered scratch tree with the live tree (spec §3.8).

Each path of rendered ∪ tracked is compared as ``old`` (the state file), ``cur`` (live ``lstat``) and
``new`` (scratch) to decide add / modify / delete / adopt or a conflict. Applying writes each entry via a
temp sibling + rename under a :class:`Journal` that can roll every step back.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from angee.api.templates import TemplateChange, TemplateConflict
from angee.errors import Conflict, RuntimeFailure

STATE_VERSION = 1


@dataclass(frozen=True)
class Fingerprint:
    """What a path is: ``kind`` (``file``, ``symlink``, ``dir``, ``other``) with ``sha256``/``mode`` for
    files and ``link`` (the target text) for symlinks."""

    kind: str
    sha256: str = ""
    mode: int = 0
    link: str = ""

    def to_state(self) -> dict[str, Any]:
        if self.kind == "symlink":
            return {"kind": "symlink", "link": self.link}
        return {"kind": self.kind, "sha256": self.sha256, "mode": self.mode}

    @classmethod
    def from_state(cls, data: Any) -> Fingerprint:
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise ValueError("file entries need a kind")
        if data["kind"] == "symlink":
            return cls("symlink", link=str(data.get("link", "")))
        return cls(data["kind"], sha256=str(data.get("sha256", "")), mode=int(data.get("mode", 0)))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path: str) -> Fingerprint | None:
    """The live fingerprint of ``path`` (``lstat``: the last component is not followed), ``None`` if absent."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(st.st_mode):
        return Fingerprint("symlink", link=os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return Fingerprint("dir")
    if stat.S_ISREG(st.st_mode):
        return Fingerprint("file", sha256=_sha256(path), mode=st.st_mode & 0o777)
    return Fingerprint("other")


# --------------------------------------------------------------------------- state file


@dataclass
class TemplateState:
    """The per-plan state file (``run/template-state/…json``)."""

    layers: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, Fingerprint] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)
    protected_paths: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        data = {
            "version": STATE_VERSION,
            "layers": self.layers,
            "files": {path: self.files[path].to_state() for path in sorted(self.files)},
            "documents": {path: self.documents[path] for path in sorted(self.documents)},
            "protected_paths": sorted(self.protected_paths),
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def load_state(path: str) -> TemplateState | None:
    """Read a state file; absent → ``None``. Unparsable or an unknown version is an error naming the file."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise RuntimeFailure(f"template state {path}: cannot read: {err.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown version {data.get('version')!r} (want {STATE_VERSION})")
        files = {str(k): Fingerprint.from_state(v) for k, v in (data.get("files") or {}).items()}
        documents = {str(k): str(v) for k, v in (data.get("documents") or {}).items()}
        layers = [dict(layer) for layer in data.get("layers") or []]
        protected = [str(p) for p in data.get("protected_paths") or []]
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as err:
        raise RuntimeFailure(f"template state {path} is unreadable: {err}") from None
    return TemplateState(layers=layers, files=files, documents=documents, protected_paths=protected)


# --------------------------------------------------------------------------- planning


@dataclass
class Entry:
    """One path to reconcile and what will be done to it."""

    path: str
    action: str  # add | modify | delete | adopt | keep
    new: Fingerprint | None
    cur: Fingerprint | None


def _differs(a: Fingerprint | None, b: Fingerprint | None) -> bool:
    return a != b


def _reason(cur: Fingerprint | None, other: Fingerprint | None, default: str) -> str:
    if cur is not None and other is not None and cur.kind != other.kind:
        return "type-changed"
    return default


def plan_entries(
    old: dict[str, Fingerprint],
    new: dict[str, Fingerprint],
    live: Callable[[str], Fingerprint | None],
    *,
    overwrite: bool,
) -> tuple[list[Entry], list[TemplateConflict]]:
    """Apply the §3.8 table to every path of ``new`` ∪ ``old``. With ``overwrite`` conflicts resolve to
    the template (replace or delete) and are not reported."""
    entries: list[Entry] = []
    conflicts: list[TemplateConflict] = []
    for path in sorted(set(new) | set(old)):
        o, n, c = old.get(path), new.get(path), live(path)
        if n is not None:
            if c == n:
                entries.append(Entry(path, "keep" if o == n else "adopt", n, c))
            elif o is None:
                if c is None:
                    entries.append(Entry(path, "add", n, c))
                elif overwrite:
                    entries.append(Entry(path, "modify", n, c))
                else:
                    conflicts.append(TemplateConflict(path, _reason(c, n, "untracked-different")))
            elif c == o:
                entries.append(Entry(path, "modify", n, c))
            elif overwrite:
                entries.append(Entry(path, "add" if c is None else "modify", n, c))
            else:
                conflicts.append(TemplateConflict(path, _reason(c, n, "locally-modified")))
        elif o is not None:
            if c is None:
                continue  # already gone; simply no longer tracked
            if c == o or overwrite:
                entries.append(Entry(path, "delete", None, c))
            else:
                conflicts.append(TemplateConflict(path, _reason(c, o, "locally-modified")))
    return entries, conflicts


def changes_of(entries: Iterable[Entry]) -> list[TemplateChange]:
    """The reported changes (unchanged paths are not reported)."""
    return [TemplateChange(e.path, e.action) for e in entries if e.action != "keep"]


# --------------------------------------------------------------------------- applying


class Journal:
    """Every filesystem step of an apply, so a failure can undo them in reverse order."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, str, str]] = []  # (op, path, backup)

    def _backup(self, path: str) -> str:
        directory, name = os.path.split(path)
        fd, backup = tempfile.mkstemp(prefix=f".{name}.", suffix=".angee-bak", dir=directory)
        os.close(fd)
        os.unlink(backup)
        return backup

    def mkdirs(self, directory: str, stop: str) -> None:
        """Create ``directory`` and missing parents below ``stop``, journaling each created dir."""
        missing: list[str] = []
        current = directory
        while not os.path.lexists(current) and current != stop and current != os.path.dirname(current):
            missing.append(current)
            current = os.path.dirname(current)
        for path in reversed(missing):
            os.mkdir(path, 0o755)
            self._steps.append(("mkdir", path, ""))

    def _displace(self, path: str) -> str:
        """Move an existing entry aside (hard link for files and links, rename for an empty dir)."""
        if not os.path.lexists(path):
            return ""
        backup = self._backup(path)
        if os.path.isdir(path) and not os.path.islink(path):
            os.rename(path, backup)
        else:
            try:
                os.link(path, backup, follow_symlinks=False)
            except OSError:
                os.rename(path, backup)
        return backup

    def write_file(self, path: str, source: str, mode: int) -> None:
        directory = os.path.dirname(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".angee-tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out)
                out.flush()
                os.fchmod(out.fileno(), mode)
                os.fsync(out.fileno())
            backup = self._displace(path)
            self._steps.append(("replace", path, backup))
            os.replace(tmp, path)
            tmp = ""
        finally:
            if tmp:
                os.unlink(tmp)

    def write_bytes(self, path: str, data: bytes, mode: int = 0o644) -> None:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".angee-tmp", dir=os.path.dirname(path)
        )
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        try:
            self.write_file(path, tmp, mode)
        finally:
            os.unlink(tmp)

    def write_symlink(self, path: str, target: str) -> None:
        directory = os.path.dirname(path)
        tmp = self._backup(os.path.join(directory, os.path.basename(path) + ".link"))
        os.symlink(target, tmp)
        try:
            backup = self._displace(path)
            self._steps.append(("replace", path, backup))
            os.replace(tmp, path)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise

    def delete(self, path: str) -> None:
        backup = self._backup(path)
        os.rename(path, backup)
        self._steps.append(("delete", path, backup))

    def rmdir(self, path: str) -> None:
        os.rmdir(path)
        self._steps.append(("rmdir", path, ""))

    def rollback(self) -> None:
        """Undo every step, newest first; best effort (one failing undo does not stop the others)."""
        for op, path, backup in reversed(self._steps):
            try:
                if op == "mkdir":
                    os.rmdir(path)
                elif op == "rmdir":
                    os.mkdir(path, 0o755)
                elif op in ("replace", "delete"):
                    if op == "replace" and os.path.lexists(path) and not backup:
                        os.unlink(path)
                    if backup:
                        if os.path.isdir(backup) and not os.path.islink(backup) and os.path.lexists(path):
                            os.unlink(path)
                        os.replace(backup, path)
            except OSError:
                pass
        self._steps.clear()

    def commit(self) -> None:
        """Drop the backups: the apply succeeded."""
        for _op, _path, backup in self._steps:
            if backup and os.path.lexists(backup):
                if os.path.isdir(backup) and not os.path.islink(backup):
                    shutil.rmtree(backup, ignore_errors=True)
                else:
                    os.unlink(backup)
        self._steps.clear()


def check_parents(target: str, path: str, slot_links: dict[str, str], kind: str) -> None:
    """Refuse to write ``path`` through a symlink or a non-directory: every parent component below
    ``target`` must be a real directory (or absent), except a declared local-source slot link that still
    resolves to its source."""
    parts = path.split("/")[:-1]
    for i in range(len(parts)):
        rel = "/".join(parts[: i + 1])
        full = os.path.join(target, rel)
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            continue
        if stat.S_ISLNK(st.st_mode) and rel in slot_links:
            expected = os.path.realpath(slot_links[rel])
            if os.path.realpath(full) == expected and os.path.isdir(expected):
                continue
            raise Conflict(kind, path, f"slot link {rel} no longer resolves to its source {slot_links[rel]}")
        what = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a directory"
        raise Conflict(
            kind, path, f"cannot write {path}: {rel} is {what} (Angee never writes through symlinks)"
        )
