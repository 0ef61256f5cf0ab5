"""Convergence operations on a checkout: merge, rebase, abort, continue, publish, sync with the base.

Each returns a :class:`GitOpResult` (templates-workspaces-git §5.8). They run git in the restricted
environment (a few inherited variables, no prompts, author/committer ``angee <angee@example.invalid>``).
Exit 0 → ``ok``. Otherwise the index's unmerged paths decide: some → ``conflicted`` (the checkout is
left conflicted for the user); none → Conflict carrying git's output.
"""

from __future__ import annotations

from collections.abc import Sequence

from angee.api.sources import GitOpResult
from angee.errors import Conflict, InvalidInput
from angee_source_git.diff import unquote_path
from angee_source_git.remote import fetch_all
from angee_source_git.runner import LOCAL_TIMEOUT, NETWORK_TIMEOUT, convergence_env, git
from angee_source_git.validate import check_git_arg
from angee_source_git.worktree import resolve_sync_ref

CONFLICT_KIND = "workspace-source"


def conflict_files(path: str) -> list[str]:
    """Unique unmerged paths (``git -c core.quotepath=false ls-files -u``), sorted."""
    out = git(["-c", "core.quotepath=false", "ls-files", "-u"], path).stdout
    found = {unquote_path(line.partition("\t")[2]) for line in out.splitlines() if "\t" in line}
    return sorted(found)


def run_op(path: str, args: Sequence[str], *, slot: str = "", timeout: float = LOCAL_TIMEOUT) -> GitOpResult:
    """Run one convergence command and classify its outcome (see the module docstring)."""
    result = git(args, path, env=convergence_env(), check=False, timeout=timeout)
    if result.ok:
        return GitOpResult(ok=True, conflicted=False, conflict_files=[], message=result.message)
    files = conflict_files(path)
    if files:
        return GitOpResult(ok=False, conflicted=True, conflict_files=files, message=result.message)
    shown = " ".join(result.argv)
    raise Conflict(CONFLICT_KIND, slot, f"{shown}: {result.message or f'exit status {result.returncode}'}")


def _required_ref(ref: str) -> str:
    if not ref:
        raise InvalidInput("ref", "is required")
    return check_git_arg("ref", ref)


def merge(path: str, ref: str, *, slot: str = "") -> GitOpResult:
    """``git merge --no-ff --no-edit <ref>``."""
    return run_op(path, ["merge", "--no-ff", "--no-edit", _required_ref(ref)], slot=slot)


def rebase(path: str, ref: str, *, slot: str = "") -> GitOpResult:
    """``git rebase <ref>``."""
    return run_op(path, ["rebase", _required_ref(ref)], slot=slot)


def merge_abort(path: str, *, slot: str = "") -> GitOpResult:
    """``git merge --abort``."""
    return run_op(path, ["merge", "--abort"], slot=slot)


def rebase_abort(path: str, *, slot: str = "") -> GitOpResult:
    """``git rebase --abort``."""
    return run_op(path, ["rebase", "--abort"], slot=slot)


def rebase_continue(path: str, *, slot: str = "") -> GitOpResult:
    """``git -c core.editor=true rebase --continue`` (keeps each commit message, never opens an editor)."""
    return run_op(path, ["-c", "core.editor=true", "rebase", "--continue"], slot=slot)


def publish(path: str, remote: str = "", branch: str = "", *, slot: str = "") -> GitOpResult:
    """``git push --set-upstream <remote> <branch>``; remote defaults to ``origin``, branch to the checked-out
    one (``git rev-parse --abbrev-ref HEAD``; detached → InvalidInput)."""
    remote = check_git_arg("remote", remote or "origin")
    if branch:
        check_git_arg("branch", branch)
    else:
        branch = git(["rev-parse", "--abbrev-ref", "HEAD"], path, env=convergence_env()).stdout.strip()
        if branch == "HEAD" or not branch:
            raise InvalidInput("branch", "HEAD is detached; pass a branch to publish")
    return run_op(path, ["push", "--set-upstream", remote, branch], slot=slot, timeout=NETWORK_TIMEOUT)


def sync_method(method: str) -> str:
    """``""``/``merge`` → ``merge``, ``rebase`` → ``rebase`` (trimmed, any case); else InvalidInput."""
    value = method.strip().lower()
    if value in ("", "merge"):
        return "merge"
    if value == "rebase":
        return "rebase"
    message = 'workspace sync-base method must be "merge" or "rebase"'
    raise InvalidInput("method", message, message=message)


def sync_base(path: str, base_ref: str, method: str = "merge", *, slot: str = "") -> GitOpResult:
    """Bring the base into the checkout's branch without switching it: ``git fetch --all --prune``, resolve
    the sync ref (:func:`resolve_sync_ref`), then ``git merge --no-edit <sync>`` or ``git rebase <sync>``.

    The caller checks dirtiness and branch first and reports a conflicted result as a Conflict.
    """
    how = sync_method(method)
    if not base_ref:
        raise InvalidInput("ref", "has no base ref")
    check_git_arg("ref", base_ref)
    fetch_all(path)
    sync = resolve_sync_ref(path, base_ref)
    args = ["merge", "--no-edit", sync] if how == "merge" else ["rebase", sync]
    return run_op(path, args, slot=slot)
