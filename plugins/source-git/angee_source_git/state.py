"""SourceState of git checkouts (templates-workspaces-git §4.1, slot rules of §5.6), fast and in parallel.

One ``git status --porcelain=v2 --branch --untracked-files=all`` gives the branch, the upstream, the
ahead/behind counts and dirtiness at once; only a checkout without an upstream but with a base ref
needs a second call (``git rev-list --left-right --count <base>...HEAD``). :func:`slot_states`
inspects many checkouts on a thread pool.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from angee.api.sources import SourceState
from angee.errors import AngeeError, RuntimeFailure
from angee_source_git.runner import git
from angee_source_git.validate import check_git_arg

MAX_WORKERS = 8


@dataclass
class StateRequest:
    """What to inspect and how to label it.

    ``ref``/``branch`` are the wire values (``None`` → the checkout's current ref / current branch);
    ``base_ref`` is the base when the branch has no upstream (a source's ``default_ref``, a slot's
    ``ref`` or ``default_ref``); ``expected_branch`` (worktree slots) makes another current ref a
    ``branch-mismatch``.
    """

    path: str
    name: str = ""
    kind: str = "git"
    slot: str = ""
    ref: str | None = None
    branch: str | None = None
    base_ref: str = ""
    expected_branch: str = ""


@dataclass
class PorcelainStatus:
    """The parts of ``git status --porcelain=v2 --branch`` a SourceState needs."""

    oid: str = ""  # "" on an unborn branch
    head: str = ""  # "" when detached
    upstream: str = ""  # "" when none is configured or it no longer exists
    ahead: int = 0
    behind: int = 0
    dirty: bool = False

    @property
    def current_ref(self) -> str:
        """The branch name, else the 7-character HEAD sha."""
        return self.head or self.oid[:7]


def parse_porcelain_v2(text: str) -> PorcelainStatus:
    """Parse ``git status --porcelain=v2 --branch`` output (an upstream without ``branch.ab`` is gone)."""
    status = PorcelainStatus()
    has_ab = False
    for line in text.splitlines():
        if not line:
            continue
        if not line.startswith("# "):
            status.dirty = True
            continue
        key, _, value = line[2:].partition(" ")
        if key == "branch.oid":
            status.oid = "" if value == "(initial)" else value
        elif key == "branch.head":
            status.head = "" if value == "(detached)" else value
        elif key == "branch.upstream":
            status.upstream = value
        elif key == "branch.ab":
            ahead, _, behind = value.partition(" ")
            status.ahead, status.behind = int(ahead.lstrip("+")), int(behind.lstrip("-"))
            has_ab = True
    if not has_ab:
        status.upstream = ""
    return status


def read_status(path: str) -> PorcelainStatus:
    """One ``git status`` call (without optional locks, so a concurrent user command is never blocked)."""
    out = git(
        ["--no-optional-locks", "status", "--porcelain=v2", "--branch", "--untracked-files=all"], path
    ).stdout
    return parse_porcelain_v2(out)


def left_right_counts(path: str, base: str) -> tuple[int, int]:
    """``(behind, ahead)`` of HEAD relative to ``base``."""
    check_git_arg("ref", base)
    out = git(["rev-list", "--left-right", "--count", f"{base}...HEAD", "--"], path).stdout.split()
    if len(out) != 2:
        raise RuntimeFailure(f"git rev-list --left-right --count {base}...HEAD: unexpected output {out!r}")
    return int(out[0]), int(out[1])


def require_checkout(path: str) -> bool:
    """Whether ``path`` exists; an existing path must be a git checkout (never a parent's repository)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise RuntimeFailure(f"{path}: {exc.strerror or exc}") from None
    if not os.path.lexists(os.path.join(path, ".git")):
        raise RuntimeFailure(f"{path} is not a git repository")
    return True


def inspect(request: StateRequest) -> SourceState:
    """The SourceState of one checkout; git failures raise (see :func:`slot_states` for the tolerant form)."""
    state = SourceState(name=request.name, slot=request.slot, kind=request.kind, path=request.path)
    if not require_checkout(request.path):
        state.state, state.pushed = "missing", True
        state.ref = request.ref or ""
        state.branch = request.branch or ""
        return state
    state.exists = True
    status = read_status(request.path)
    current = status.current_ref
    state.current_ref = current
    state.ref = current if request.ref is None else request.ref
    state.branch = status.head if request.branch is None else request.branch
    state.dirty = status.dirty
    state.upstream = status.upstream
    if status.upstream:
        state.ahead, state.behind = status.ahead, status.behind
    if request.expected_branch and current != request.expected_branch:
        state.state, state.pushed = "branch-mismatch", False
        state.unpushed_reason = (
            f'current branch/ref "{current}", expected workspace branch "{request.expected_branch}"'
        )
        return state
    if status.dirty:
        state.state, state.pushed, state.unpushed_reason = "dirty", False, "uncommitted changes"
        return state
    base = status.upstream or request.base_ref
    if not base or not status.oid:
        state.state, state.pushed = "clean", True
        return state
    if not status.upstream:
        state.behind, state.ahead = left_right_counts(request.path, base)
    _derive(state, base, has_upstream=bool(status.upstream))
    return state


def _derive(state: SourceState, base: str, *, has_upstream: bool) -> None:
    ahead, behind = state.ahead, state.behind
    if ahead and behind:
        state.state = "diverged"
    elif ahead:
        state.state = "ahead"
    elif behind:
        state.state = "behind"
    else:
        state.state = "clean"
    state.pushed = not ahead
    if ahead:
        if has_upstream or behind:
            state.unpushed_reason = f"{ahead} commit(s) ahead of {base}"
        else:
            state.unpushed_reason = f"{ahead} commit(s) ahead of base ref {base} with no upstream"


def error_state(request: StateRequest, message: str, *, pushed: bool = False) -> SourceState:
    """The SourceState of a checkout that could not be inspected."""
    return SourceState(
        name=request.name,
        slot=request.slot,
        kind=request.kind,
        path=request.path,
        exists=os.path.exists(request.path),
        state="error",
        ref=request.ref or "",
        branch=request.branch or "",
        pushed=pushed,
        error=message,
    )


def inspect_or_error(request: StateRequest, *, error_pushed: bool = False) -> SourceState:
    """:func:`inspect`, with any failure turned into ``state: error`` (``pushed`` = ``error_pushed``)."""
    try:
        return inspect(request)
    except AngeeError as exc:
        return error_state(request, str(exc), pushed=error_pushed)
    except OSError as exc:
        return error_state(request, f"{request.path}: {exc.strerror or exc}", pushed=error_pushed)


def slot_states(
    requests: Sequence[StateRequest], *, max_workers: int = MAX_WORKERS, error_pushed: bool = False
) -> list[SourceState]:
    """Inspect many checkouts in parallel; results in request order, failures as ``state: error``.

    Slots report a git failure with ``pushed=false``; top-level sources (topology) pass
    ``error_pushed=True``.
    """
    if len(requests) <= 1:
        return [inspect_or_error(r, error_pushed=error_pushed) for r in requests]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(requests))) as pool:
        return list(pool.map(lambda r: inspect_or_error(r, error_pushed=error_pushed), requests))
