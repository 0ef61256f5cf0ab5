"""Host paths of manifest resources; one resolver serves mounts, workdirs and substitutions."""

from __future__ import annotations

import os
import posixpath

from angee.manifest.model import Manifest, Source
from angee.root import persist_base


def normalise(path: str) -> str:
    """Lexical normalisation with a leading ``//`` collapsed to ``/`` (spec conventions)."""
    out = posixpath.normpath(path)
    return "/" + out.lstrip("/") if out.startswith("//") else out


def source_host_path(root: str, name: str, source: Source) -> str:
    """Local with a path → root/path; otherwise root/(cache_path or sources/<name>) (spec §2.4)."""
    if source.kind == "local" and source.path:
        return normalise(os.path.join(root, source.path))
    return normalise(os.path.join(root, source.cache_path or f"sources/{name}"))


def workspace_host_path(root: str, name: str) -> str:
    return normalise(os.path.join(root, "workspaces", name))


def volume_host_path(root: str, manifest: Manifest, name: str) -> str:
    """``volumes.<n>.path`` (relative to the root) or ``volumes/<name>``: the local runtime's dir."""
    volume = manifest.volumes.get(name)
    rel = volume.path if volume is not None and volume.path else f"volumes/{name}"
    return normalise(os.path.join(root, rel))


def persist_host_path(root: str, subpath: str) -> str:
    """``normalise(persist base / subpath)`` (spec §1.2, §3.2)."""
    return normalise(os.path.join(persist_base(root), subpath))
