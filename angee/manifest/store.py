"""The one writer of ``angee.yaml`` and the atomic file write it shares with the compile step.

Spec manifest-and-runtime §1.4 and templates-workspaces-git §10: under the root lock re-read, mutate,
validate, serialise canonically, then replace the file atomically (temp file in the same directory,
fsync, chmod, rename, fsync the directory). A failed operation leaves the file untouched.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Callable
from typing import TypeVar

from angee.errors import InvalidInput, NotFound, RuntimeFailure
from angee.lock import root_lock
from angee.manifest.emit import dump_manifest
from angee.manifest.load import load_manifest
from angee.manifest.model import Manifest
from angee.manifest.validate import validate_manifest
from angee.root import manifest_path

T = TypeVar("T")


def mutate_manifest(root: str, change: Callable[[Manifest], T], *, create: Manifest | None = None) -> T:
    """Lock the root, re-read ``angee.yaml``, apply ``change`` in place, validate and save; return its result.

    Absent manifest: start from a copy of ``create`` if given, else ``NotFound(stack)``. An exception from
    ``change`` or a validation issue (``InvalidInput`` naming the dotted key) writes nothing.
    """
    path = manifest_path(root)
    if create is None and not os.path.isfile(path):
        raise NotFound("stack", message="stack not found")  # checked first so no run/ dir is left behind
    with root_lock(root):
        if os.path.isfile(path):
            manifest = load_manifest(path)
        elif create is not None:
            manifest = copy.deepcopy(create)
        else:
            raise NotFound("stack", message="stack not found")
        result = change(manifest)
        issues = validate_manifest(manifest)
        if issues:
            first = issues[0]
            raise InvalidInput(field=first.path, reason=first.message)
        write_file_atomic(path, dump_manifest(manifest).encode("utf-8"), mode=0o644)
        return result


def write_file_atomic(path: str, data: bytes, mode: int = 0o644) -> bool:
    """Replace ``path`` with ``data`` atomically; identical bytes are left alone. Returns whether it wrote.

    A symlinked path writes through to its target, so the link stays a link.
    """
    target = os.path.realpath(path)
    try:
        with open(target, "rb") as current:
            if current.read() == data:
                return False
    except FileNotFoundError:
        pass
    except OSError as err:
        raise RuntimeFailure(f"cannot read {path}: {err.strerror}") from err
    directory = os.path.dirname(target)
    tmp = ""
    try:
        os.makedirs(directory, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), mode)
        os.replace(tmp, target)
        tmp = ""
    except OSError as err:
        raise RuntimeFailure(f"cannot write {path}: {err.strerror}") from err
    finally:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _fsync_directory(directory)
    return True


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; best effort (some filesystems refuse to open or fsync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
