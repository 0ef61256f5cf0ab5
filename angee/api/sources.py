"""Wire types of the source and git operations (operator-and-cli §1.3; templates-workspaces-git §4, §5.8).

Field order is the wire key order; ``opt()`` fields are the contract's ``key?`` (omitted when empty).
The git source plugin builds these; the Platform, CLI, REST and GraphQL adapters pass them through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from angee.api import opt


@dataclass
class CommitRef:
    """One commit of a source's history, newest first by committer time (§4.2)."""

    sha: str
    parents: list[str] = field(default_factory=list)  # [] for root commits
    refs: list[str] = field(default_factory=list)  # full ref names pointing at it, tags peeled, sorted
    time: str = ""  # committer time, UTC RFC 3339 with Z
    summary: str = ""  # first message line, trimmed
    author: str = opt("")  # "Name <email>"


@dataclass
class SourceState:
    """The on-disk state of a source (or of a workspace slot when ``slot`` is set), §4.1.

    ``state`` ∈ ``missing ready clean dirty ahead behind diverged branch-mismatch error``.
    """

    name: str = ""
    slot: str = opt("")
    kind: str = ""
    path: str = ""
    exists: bool = False
    state: str = opt("")
    branch: str = opt("")
    ref: str = opt("")
    current_ref: str = opt("")
    dirty: bool = opt(False)
    upstream: str = opt("")
    ahead: int = opt(0)
    commits: list[CommitRef] = opt(default_factory=list)
    behind: int = opt(0)
    pushed: bool = True
    unpushed_reason: str = opt("")
    error: str = opt("")


@dataclass
class DiffHunk:
    """One ``@@ -a,b +c,d @@ header`` hunk; ``body`` keeps each line's `` ``/``-``/``+`` prefix and ``\\n``."""

    old_start: int = 0
    old_lines: int = 0
    new_start: int = 0
    new_lines: int = 0
    header: str = opt("")
    body: str = ""


@dataclass
class DiffFile:
    """One changed file of a diff (§4.3); paths without ``a/``/``b/``, ``mode`` as octal text."""

    old_path: str = opt("")  # empty for new files
    new_path: str = opt("")  # empty for deletions
    mode: str = opt("")  # new mode, else old mode, e.g. "100644"
    is_binary: bool = False
    is_new: bool = False
    is_deleted: bool = False
    is_rename: bool = False
    hunks: list[DiffHunk] = field(default_factory=list)  # none for binary files


@dataclass
class GitOpResult:
    """Outcome of a convergence op (merge, rebase, abort, continue, publish), §5.8.

    ``conflicted`` = git stopped with unmerged index entries, listed in ``conflict_files`` (sorted);
    ``message`` = git's trimmed stdout + ``\\n`` + stderr; ``source`` = the slot status after the op
    (a WorkspaceSourceStatus, filled by the workspace operations).
    """

    ok: bool = False
    conflicted: bool = False
    conflict_files: list[str] = field(default_factory=list)
    message: str = ""
    source: Any = opt()


__all__ = ["CommitRef", "DiffFile", "DiffHunk", "GitOpResult", "SourceState"]
