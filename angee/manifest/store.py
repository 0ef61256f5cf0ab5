"""The one writer of ``angee.yaml`` and the atomic file write it shares with the compile step.

Spec manifest-and-runtime §1.4 and templates-workspaces-git §10: under the root lock re-read, mutate,
validate, serialise canonically, then replace the file atomically (temp file in the same directory,
fsync, chmod, rename, fsync the directory). A failed operation leaves the file untouched.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import TypeVar

from angee.errors import InvalidInput, NotFound
from angee.fsutil import write_file_atomic
from angee.lock import root_lock
from angee.manifest.emit import dump_manifest
from angee.manifest.load import load_manifest
from angee.manifest.model import Manifest
from angee.manifest.validate import validate_manifest
from angee.root import manifest_path

__all__ = ["mutate_manifest", "write_file_atomic"]

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
