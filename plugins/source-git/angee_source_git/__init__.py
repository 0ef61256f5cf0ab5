"""Angee bundled plugin: Git source kind: cache, worktrees, slots, convergence operations.

The entry point registers :class:`GitSourceKind` (``sources.<n>.kind: git``). The package top level is
import-cheap (stdlib + the angee kernel): the CLI imports every plugin at start-up, and the git
machinery (:mod:`.runner`, :mod:`.state`, :mod:`.diff`, ...) is imported by the methods that use it.
"""

from __future__ import annotations

from collections.abc import Sequence

from angee.contracts import SourceKind
from angee.hookspecs import hookimpl
from angee_source_git.kind import GitSourceKind

GIT_TIMEOUT_SECONDS = 1800  # a first clone of a large repository can take a while


def run_git(args: Sequence[str], cwd: str | None = None, timeout: float = GIT_TIMEOUT_SECONDS) -> str:
    """Run ``git <args>`` (argv list, never a shell) with prompts disabled; return its stdout.

    A failure raises RuntimeFailure ``git <args>: exit status N: <stderr>``.
    """
    from angee_source_git.runner import run_git as _run_git

    return _run_git(args, cwd, timeout)


@hookimpl
def angee_source_kinds() -> list[SourceKind]:
    """The ``git`` source kind."""
    return [GitSourceKind()]


__all__ = ["GitSourceKind", "angee_source_kinds", "run_git"]
