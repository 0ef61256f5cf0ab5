"""SourceState of git checkouts (templates-workspaces-git §4.1, slot rules of §5.6), fast and in parallel.

One ``git status --porcelain=v2 --branch --untracked-files=all`` gives the branch, the upstream, the
ahead/behind counts and dirtiness at once; only a checkout without an upstream but with a base ref
needs a second call (``git rev-list --left-right --count <base>...HEAD``). :func:`slot_states`
inspects many checkouts on a thread pool.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from angee.api.sources import SourceState
from angee.errors import AngeeError, RuntimeFailure
from angee_source_git.counts import batch_left_right
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
    resolve_base: bool = False


def common_dir(path: str) -> str:
    """The repository directory a checkout shares with its sibling worktrees (read from ``.git`` and
    ``commondir``, no git process); the checkout itself when that cannot be read."""
    dot_git = os.path.join(path, ".git")
    try:
        if os.path.isdir(dot_git):
            return os.path.realpath(dot_git)
        with open(dot_git, encoding="utf-8") as fh:
            line = fh.readline().strip()
        if not line.startswith("gitdir:"):
            return os.path.realpath(path)
        gitdir = os.path.join(path, line[len("gitdir:") :].strip())
        try:
            with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as fh:
                return os.path.realpath(os.path.join(gitdir, fh.read().strip()))
        except FileNotFoundError:
            return os.path.realpath(gitdir)
    except OSError:
        return os.path.realpath(path)


class BaseResolver:
    """Resolves slot bases like sync-base once per repository and base: worktrees of one cache share their
    refs, so the answer holds for all of them. Thread-safe; failures are remembered too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Resolution] = {}

    def resolve(self, path: str, base: str) -> str:
        """The sync ref of ``base`` for the checkout at ``path`` (RuntimeFailure when it names nothing)."""
        from angee_source_git.worktree import resolve_sync_ref

        key = (common_dir(path), base)
        with self._lock:
            entry = self._entries.setdefault(key, _Resolution())
        with entry.lock:
            if not entry.done:
                try:
                    entry.value = resolve_sync_ref(path, base)
                except AngeeError as err:
                    entry.error = str(err)
                entry.done = True
        if entry.error:
            raise RuntimeFailure(entry.error)
        return entry.value


@dataclass
class _Resolution:
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: bool = False
    value: str = ""
    error: str = ""


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


@dataclass
class PendingCounts:
    """A clean checkout without upstream whose ahead/behind against its base are still to be counted."""

    state: SourceState
    base: str  # the base as configured (named in unpushed_reason)
    counted: str  # the ref counted against (resolved like sync-base when asked)
    oid: str  # HEAD

    def finish(self, behind: int, ahead: int) -> SourceState:
        self.state.behind, self.state.ahead = behind, ahead
        _derive(self.state, self.base, has_upstream=False)
        return self.state


def observe(request: StateRequest, resolver: BaseResolver | None = None) -> SourceState | PendingCounts:
    """Everything one ``git status`` tells about a checkout: a finished SourceState, or the counts still
    to take against its base (:class:`PendingCounts`). Git failures raise."""
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
    if status.upstream:
        _derive(state, base, has_upstream=True)
        return state
    counted = (resolver or BaseResolver()).resolve(request.path, base) if request.resolve_base else base
    return PendingCounts(state, base, counted, status.oid)


def inspect(request: StateRequest, resolver: BaseResolver | None = None) -> SourceState:
    """The SourceState of one checkout; git failures raise (see :func:`slot_states` for the tolerant form).

    ``resolver`` shares base resolutions between the checkouts of one batch."""
    seen = observe(request, resolver)
    if isinstance(seen, SourceState):
        return seen
    return seen.finish(*left_right_counts(request.path, seen.counted))


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


def inspect_or_error(
    request: StateRequest, *, error_pushed: bool = False, resolver: BaseResolver | None = None
) -> SourceState:
    """:func:`inspect`, with any failure turned into ``state: error`` (``pushed`` = ``error_pushed``)."""
    try:
        return inspect(request, resolver)
    except AngeeError as exc:
        return error_state(request, str(exc), pushed=error_pushed)
    except OSError as exc:
        return error_state(request, f"{request.path}: {exc.strerror or exc}", pushed=error_pushed)


def slot_states(
    requests: Sequence[StateRequest], *, max_workers: int = MAX_WORKERS, error_pushed: bool = False
) -> list[SourceState]:
    """Inspect many checkouts in parallel; results in request order, failures as ``state: error``.

    One ``git status`` per checkout; then the checkouts without upstream that need counts against a base
    are counted per repository and base in one history walk (:mod:`angee_source_git.counts`), falling back
    to one ``git rev-list`` each. Slots report a git failure with ``pushed=false``; top-level sources
    (topology) pass ``error_pushed=True``.
    """
    resolver = BaseResolver()

    def fail(index: int, exc: Exception) -> SourceState:
        request = requests[index]
        if isinstance(exc, AngeeError):
            return error_state(request, str(exc), pushed=error_pushed)
        message = f"{request.path}: {getattr(exc, 'strerror', None) or exc}"
        return error_state(request, message, pushed=error_pushed)

    def first(index: int) -> SourceState | PendingCounts:
        try:
            return observe(requests[index], resolver)
        except (AngeeError, OSError) as exc:
            return fail(index, exc)

    results: list[SourceState | PendingCounts] = []
    groups: dict[tuple[str, str], list[int]] = {}

    def count(indices: list[int]) -> None:
        pendings = [p for p in (results[i] for i in indices) if isinstance(p, PendingCounts)]
        batch: dict[str, tuple[int, int]] = {}
        if len(pendings) > 1:
            path, counted = requests[indices[0]].path, pendings[0].counted
            try:
                batch = batch_left_right(path, counted, [p.oid for p in pendings])
            except AngeeError:
                batch = {}  # count one by one below
        for i in indices:
            pending = results[i]
            assert isinstance(pending, PendingCounts)
            try:
                counts = batch.get(pending.oid) or left_right_counts(requests[i].path, pending.counted)
                results[i] = pending.finish(*counts)
            except (AngeeError, OSError) as exc:
                results[i] = fail(i, exc)

    workers = max(1, min(max_workers, len(requests)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(first, range(len(requests))))
        for index, seen in enumerate(results):
            if isinstance(seen, PendingCounts):
                groups.setdefault((common_dir(requests[index].path), seen.counted), []).append(index)
        list(pool.map(count, groups.values()))
    finished = [r for r in results if isinstance(r, SourceState)]
    assert len(finished) == len(requests)
    return finished
