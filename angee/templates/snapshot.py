"""The private template snapshot every render reads from (spec §3.2).

The template dir — or the ancestor named by ``_angee.include_root`` — is copied into a temp dir with
symlinks copied as links (never followed) and ``.git`` skipped: the content is pinned for the render,
includes cannot leave it, and Copier never sees a git repository (it would render the repo's latest tag
instead of the working tree). Snapshots are capped at 256 MiB and 50 000 entries.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass

from angee.errors import InvalidInput
from angee.templates.meta import template_error
from angee.templates.resolve import ResolvedTemplate

MAX_BYTES = 256 * 1024 * 1024
MAX_ENTRIES = 50_000
_LINK_PASSES = 8


@dataclass
class Snapshot:
    """A snapshot on disk: ``root`` (copy of the snapshot root), ``template_dir`` (the template inside it)."""

    root: str
    template_dir: str
    _holder: str

    def close(self) -> None:
        shutil.rmtree(self._holder, ignore_errors=True)

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fail(resolved: ResolvedTemplate, reason: str) -> InvalidInput:
    return template_error(f'template "{resolved.ref}": {reason}', "include_root")


def _inside(path: str, parent: str, *, strict: bool = False) -> bool:
    if path == parent:
        return not strict
    return path.startswith(parent.rstrip(os.sep) + os.sep)


def snapshot_root(resolved: ResolvedTemplate) -> str:
    """The directory to snapshot: the template dir, or the ancestor named by ``include_root`` (validated)."""
    template_dir = os.path.normpath(os.path.abspath(resolved.path))
    include_root = resolved.meta.include_root.strip()
    if not include_root:
        return template_dir
    if os.path.isabs(include_root):
        raise _fail(resolved, f'include_root "{include_root}" must be a relative path')
    root = os.path.normpath(os.path.join(template_dir, include_root))
    if not _inside(template_dir, root):
        raise _fail(
            resolved, f'include_root "{include_root}" must name the template dir or one of its ancestors'
        )
    real = os.path.realpath(root)
    home = os.path.realpath(os.path.expanduser("~"))
    if real == os.path.realpath(os.sep) or root == os.sep or real == home:
        raise _fail(resolved, f'include_root "{include_root}" must not be / or the home directory')
    if resolved.bound:
        bound = os.path.realpath(resolved.bound)
        if not _inside(real, bound, strict=resolved.bound_strict):
            where = (
                "strictly inside the workspace" if resolved.bound_strict else "inside the template repository"
            )
            raise _fail(resolved, f'include_root "{include_root}" must stay {where}')
    return root


class _Copier:
    """Copies a tree without following links, skipping ``.git``, within the size and entry caps."""

    def __init__(self, resolved: ResolvedTemplate) -> None:
        self.resolved = resolved
        self.entries = 0
        self.bytes = 0

    def _count(self, size: int = 0) -> None:
        self.entries += 1
        self.bytes += size
        if self.entries > MAX_ENTRIES or self.bytes > MAX_BYTES:
            raise _fail(
                self.resolved,
                f"template snapshot exceeds {MAX_BYTES // (1024 * 1024)} MiB or {MAX_ENTRIES} entries",
            )

    def copy_tree(self, src: str, dst: str) -> None:
        os.makedirs(dst, exist_ok=True)
        shutil.copystat(src, dst, follow_symlinks=True)
        with os.scandir(src) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name == ".git":
                    continue
                target = os.path.join(dst, entry.name)
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    self._count()
                    os.symlink(os.readlink(entry.path), target)
                elif stat.S_ISDIR(st.st_mode):
                    self._count()
                    self.copy_tree(entry.path, target)
                elif stat.S_ISREG(st.st_mode):
                    self._count(st.st_size)
                    shutil.copy2(entry.path, target, follow_symlinks=False)


def _verify_real_dir(resolved: ResolvedTemplate, snap_root: str, path: str, what: str) -> None:
    """``path`` must be a directory inside the snapshot reached through real directories only."""
    real_root = os.path.realpath(snap_root)
    rel = os.path.relpath(path, snap_root)
    expected = os.path.normpath(os.path.join(real_root, rel))
    if rel.startswith("..") or os.path.realpath(path) != expected or not os.path.isdir(path):
        raise _fail(resolved, f"{what} is not a real directory inside the template snapshot")


def _materialise_links(
    resolved: ResolvedTemplate, copier: _Copier, snap_root: str, template_dir: str, copy_root: str
) -> None:
    """With ``_preserve_symlinks: false`` Copier follows links but only inside the template dir: replace
    links that resolve elsewhere inside the snapshot by copies of their targets; links that resolve
    outside the snapshot (or nowhere) are a render error (§3.6)."""
    real_root = os.path.realpath(snap_root)
    real_template = os.path.realpath(template_dir)
    for _ in range(_LINK_PASSES):
        replaced = False
        for current, dirs, files in os.walk(copy_root):
            for name in dirs + files:
                path = os.path.join(current, name)
                if not os.path.islink(path):
                    continue
                real = os.path.realpath(path)
                rel = os.path.relpath(path, copy_root)
                if not _inside(real, real_root) or not os.path.exists(real):
                    raise template_error(
                        f'template "{resolved.ref}": symlink {rel} resolves outside the template snapshot'
                    )
                if _inside(real, real_template):
                    continue
                os.unlink(path)
                if os.path.isdir(real):
                    copier.copy_tree(real, path)
                else:
                    shutil.copy2(real, path)
                replaced = True
        if not replaced:
            return
    raise template_error(f'template "{resolved.ref}": symlinks nest too deeply')


def make_snapshot(resolved: ResolvedTemplate) -> Snapshot:
    """Copy the template (or its ``include_root``) into a private temp dir and return where it landed."""
    source_root = snapshot_root(resolved)
    template_dir = os.path.normpath(os.path.abspath(resolved.path))
    holder = tempfile.mkdtemp(prefix="angee-snapshot-")
    try:
        root = os.path.join(holder, "tree")
        copier = _Copier(resolved)
        copier.copy_tree(source_root, root)
        rel = os.path.relpath(template_dir, source_root)
        snap_template = os.path.normpath(os.path.join(root, rel))
        _verify_real_dir(resolved, root, snap_template, "the template dir")
        copy_root = os.path.normpath(os.path.join(snap_template, resolved.meta.subdirectory or "."))
        if not _inside(copy_root, snap_template):
            raise template_error(f'template "{resolved.ref}": _subdirectory leaves the template')
        _verify_real_dir(resolved, root, copy_root, "_subdirectory")
        if not resolved.meta.preserve_symlinks:
            _materialise_links(resolved, copier, root, snap_template, copy_root)
        return Snapshot(root=root, template_dir=snap_template, _holder=holder)
    except BaseException:
        shutil.rmtree(holder, ignore_errors=True)
        raise
