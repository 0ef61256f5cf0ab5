"""The ``git`` source kind: the provider the kernel reaches git through (templates-workspaces-git §4).

Beyond the kernel's :class:`~angee.contracts.SourceKind` contract (``materialize``) it offers the
optional methods the Platform looks up with ``getattr``: ``fetch``, ``pull``, ``push``, ``diff``,
``status``, ``commits``, ``slot_states`` and ``checkout`` (the path-level operations workspaces use).
Imports stay cheap: the git machinery is imported by the methods that need it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from angee.contracts import SourceKind
from angee.errors import InvalidInput, RuntimeFailure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.api.sources import CommitRef, DiffFile, SourceState
    from angee.manifest.model import Source
    from angee_source_git.state import StateRequest


class GitSourceKind(SourceKind):
    """A git repository cloned into the stack (sources.<n>.repo, cache_path)."""

    name = "git"

    # ------------------------------------------------------------------ helpers

    @property
    def checkout(self) -> ModuleType:
        """Path-level git operations (:mod:`angee_source_git.checkout`): worktrees, merges, states, ..."""
        from angee_source_git import checkout

        return checkout

    def _cloned(self, root: str, name: str, source: Source) -> str:
        """The clone's path; a source not cloned yet is an error telling how to clone it."""
        path = self.host_path(root, name, source)
        if not self.checkout.has_checkout(path):
            raise RuntimeFailure(f'source "{name}" is not cloned at {path}; run `angee source fetch {name}`')
        return path

    def _clone(self, root: str, name: str, source: Source, progress: Callable[[str], None] | None) -> str:
        path = self.host_path(root, name, source)
        repo = source.clone_url
        if not repo:
            raise InvalidInput(f"sources.{name}.repo", "a git source needs a repo to clone")
        self.checkout.clone(
            repo, path, branch=source.default_ref, progress=progress, repo_field=f"sources.{name}.repo"
        )
        return path

    # ------------------------------------------------------------------ the SourceKind contract

    def materialize(
        self, root: str, name: str, source: Source, progress: Callable[[str], None] | None = None
    ) -> str:
        """Clone when ``<path>/.git`` is absent (``git clone [--branch <default_ref>]``; with ``progress``
        git's ``--progress`` lines stream to it); an existing clone is left as it is (see :meth:`fetch`)."""
        path = self.host_path(root, name, source)
        if self.checkout.has_checkout(path):
            return path
        return self._clone(root, name, source, progress)

    # ------------------------------------------------------------------ source operations

    def fetch(
        self, root: str, name: str, source: Source, progress: Callable[[str], None] | None = None
    ) -> str:
        """Clone on first use, else ``git fetch --all --prune``; returns the clone's path."""
        path = self.host_path(root, name, source)
        if not self.checkout.has_checkout(path):
            return self._clone(root, name, source, progress)
        self.checkout.fetch_all(path)
        return path

    def pull(
        self, root: str, name: str, source: Source, progress: Callable[[str], None] | None = None
    ) -> str:
        """:meth:`fetch`, then ``git pull --ff-only`` in the clone."""
        path = self.fetch(root, name, source, progress)
        self.checkout.pull_ff_only(path)
        return path

    def push(self, root: str, name: str, source: Source, ref: str = "") -> str:
        """Dirty → Conflict ``source "<n>" has uncommitted changes``; else ``git push`` or
        ``git push <pushRemote> <ref>``."""
        ops = self.checkout
        if ref:
            ops.check_git_arg("ref", ref)
        path = self._cloned(root, name, source)
        ops.refuse_dirty(path, "source", name, f'source "{name}" has uncommitted changes')
        ops.push(path, ref)
        return path

    def diff(self, root: str, name: str, source: Source, ref: str = "") -> list[DiffFile]:
        """Working tree (staged included) vs HEAD, or HEAD vs ``ref``, parsed."""
        ops = self.checkout
        if ref:
            ops.check_git_arg("ref", ref)
        return ops.diff(self._cloned(root, name, source), ref)

    def status(self, root: str, name: str, source: Source) -> SourceState:
        """The source's SourceState (§4.1): missing, dirty, clean/ahead/behind/diverged against the upstream
        or ``default_ref``. Git failures raise (the caller turns them into ``state: error``)."""
        ops = self.checkout
        path = self.host_path(root, name, source)
        return ops.inspect(ops.StateRequest(path=path, name=name, kind="git", base_ref=source.default_ref))

    def commits(self, root: str, name: str, source: Source, limit: int) -> list[CommitRef]:
        """Up to ``limit`` recent commits (§4.2); an unreadable clone yields ``[]``."""
        return self.checkout.list_commits(self.host_path(root, name, source), limit)

    def slot_states(
        self, requests: Sequence[StateRequest], *, error_pushed: bool = False
    ) -> list[SourceState]:
        """States of many checkouts inspected in parallel (one ``git status`` each when tracked)."""
        return self.checkout.slot_states(requests, error_pushed=error_pushed)
