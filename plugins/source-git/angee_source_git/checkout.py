"""Path-level git operations on one checkout, for workspace slots and the topology.

This module is the surface the kernel's workspace operations call (through
``GitSourceKind.checkout``); every function takes plain paths and validated names, runs git through
the plugin's one runner and returns wire types from :mod:`angee.api.sources`.
"""

from __future__ import annotations

from angee_source_git.converge import (
    conflict_files,
    merge,
    merge_abort,
    publish,
    rebase,
    rebase_abort,
    rebase_continue,
    sync_base,
    sync_method,
)
from angee_source_git.diff import diff, parse_diff
from angee_source_git.history import check_commit_limit, list_commits
from angee_source_git.remote import (
    clone,
    current_branch,
    fetch_all,
    has_checkout,
    is_dirty,
    pull_ff_only,
    push,
    push_remote,
    refuse_dirty,
    remotes,
    upstream_of,
)
from angee_source_git.runner import GitFailed, GitResult, convergence_env, git, run_git
from angee_source_git.state import StateRequest, inspect, inspect_or_error, slot_states
from angee_source_git.validate import check_git_arg, check_git_args, unsafe_reason
from angee_source_git.worktree import (
    branch_exists,
    is_ancestor,
    resolve_sync_ref,
    worktree_add,
    worktree_paths,
    worktree_prune,
    worktree_registered,
    worktree_remove,
)

__all__ = [
    "GitFailed",
    "GitResult",
    "StateRequest",
    "branch_exists",
    "check_commit_limit",
    "check_git_arg",
    "check_git_args",
    "clone",
    "conflict_files",
    "convergence_env",
    "current_branch",
    "diff",
    "fetch_all",
    "git",
    "has_checkout",
    "inspect",
    "inspect_or_error",
    "is_ancestor",
    "is_dirty",
    "list_commits",
    "merge",
    "merge_abort",
    "parse_diff",
    "publish",
    "pull_ff_only",
    "push",
    "push_remote",
    "rebase",
    "rebase_abort",
    "rebase_continue",
    "refuse_dirty",
    "remotes",
    "resolve_sync_ref",
    "run_git",
    "slot_states",
    "sync_base",
    "sync_method",
    "unsafe_reason",
    "upstream_of",
    "worktree_add",
    "worktree_paths",
    "worktree_prune",
    "worktree_registered",
    "worktree_remove",
]
